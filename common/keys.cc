#include "common/keys.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/coding.h"
#include "common/quote.h"

namespace kouryu {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xff';
constexpr char kTerminator = '\x01';

absl::Status BadName(absl::string_view what, absl::string_view name,
                     absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what, " ", QuoteValue(name), ": ", why));
}

// Reads one component starting at `pos`; advances `pos` past its terminator.
std::optional<std::string> ReadComponent(absl::string_view key, size_t& pos) {
  std::string out;
  while (pos < key.size()) {
    char c = key[pos];
    if (c != kEscape) {
      out.push_back(c);
      ++pos;
      continue;
    }
    if (pos + 1 >= key.size()) return std::nullopt;
    char next = key[pos + 1];
    pos += 2;
    if (next == kTerminator) return out;
    if (next != kEscapedZero) return std::nullopt;
    out.push_back('\0');
  }
  return std::nullopt;
}

}  // namespace

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

std::string FormatRecordName(const RecordName& name) {
  return absl::StrCat("cities/", name.city, "/bureaus/", name.bureau,
                      "/records/", name.record);
}

absl::StatusOr<RecordName> ParseRecordName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "cities" || parts[2] != "bureaus" ||
      parts[4] != "records") {
    return BadName("record name", name,
                   "expected cities/{city}/bureaus/{bureau}/records/{record}");
  }
  for (size_t i : {1, 3, 5}) {
    if (!IsValidId(parts[i])) {
      return BadName("record name", name,
                     absl::StrCat(QuoteValue(parts[i]),
                                  " is not an ID ([a-z0-9-], at most 63)"));
    }
  }
  return RecordName{std::string(parts[1]), std::string(parts[3]),
                    std::string(parts[5])};
}

absl::StatusOr<Parent> ParseParent(absl::string_view parent) {
  std::vector<absl::string_view> parts = absl::StrSplit(parent, '/');
  bool shape_ok = (parts.size() == 2 || parts.size() == 4) &&
                  parts[0] == "cities" &&
                  (parts.size() == 2 || parts[2] == "bureaus");
  if (!shape_ok) {
    return BadName("parent", parent,
                   "expected cities/{city}, cities/{city}/bureaus/{bureau}, "
                   "cities/-/bureaus/{bureau} or cities/-");
  }
  Parent out;
  out.city = std::string(parts[1]);
  if (out.city != kWildcardId && !IsValidId(out.city)) {
    return BadName("parent", parent, "city is not an ID or \"-\"");
  }
  if (parts.size() == 4) {
    out.bureau = std::string(parts[3]);
    if (!IsValidId(out.bureau)) {
      return BadName("parent", parent, "bureau is not an ID");
    }
  }
  return out;
}

void AppendKeyComponent(std::string& key, absl::string_view component) {
  for (char c : component) {
    key.push_back(c);
    if (c == kEscape) key.push_back(kEscapedZero);
  }
  key.push_back(kEscape);
  key.push_back(kTerminator);
}

std::string RecordKey(const RecordName& name) {
  std::string key;
  AppendKeyComponent(key, name.city);
  AppendKeyComponent(key, name.bureau);
  AppendKeyComponent(key, name.record);
  return key;
}

std::string CityPrefix(absl::string_view city) {
  std::string key;
  AppendKeyComponent(key, city);
  return key;
}

std::string CityBureauPrefix(absl::string_view city, absl::string_view bureau) {
  std::string key;
  AppendKeyComponent(key, city);
  AppendKeyComponent(key, bureau);
  return key;
}

std::optional<std::vector<std::string>> DecodeKeyComponents(
    absl::string_view key) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < key.size()) {
    std::optional<std::string> part = ReadComponent(key, pos);
    if (!part) return std::nullopt;
    parts.push_back(*std::move(part));
  }
  return parts;
}

std::optional<RecordName> DecodeRecordKey(absl::string_view key) {
  std::optional<std::vector<std::string>> parts = DecodeKeyComponents(key);
  if (!parts || parts->size() != 3) return std::nullopt;
  return RecordName{(*parts)[0], (*parts)[1], (*parts)[2]};
}

std::string SequenceKey(uint64_t sequence) { return EncodeFixed64BigEndian(sequence); }

std::optional<uint64_t> DecodeSequenceKey(absl::string_view key) {
  return DecodeFixed64BigEndian(key);
}

}  // namespace kouryu

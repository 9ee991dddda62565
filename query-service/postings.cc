#include "query-service/postings.h"

#include <rocksdb/merge_operator.h>

#include <algorithm>
#include <iterator>
#include <limits>

#include "common/coding.h"
#include "common/hash.h"
#include "common/keys.h"

namespace kouryu::query {
namespace {

// Ascending IDs, delta coded.
void PutIds(std::string& out, const std::vector<uint64_t>& ids) {
  uint64_t previous = 0;
  for (uint64_t id : ids) {
    PutVarint64(out, id - previous);
    previous = id;
  }
}

// `count` IDs, or all that `in` holds when count is nullopt.
bool GetIds(absl::string_view& in, std::optional<uint64_t> count,
            std::vector<uint64_t>& ids) {
  uint64_t previous = 0;
  for (uint64_t i = 0; count ? i < *count : !in.empty(); ++i) {
    uint64_t delta;
    if (!GetVarint64(in, delta)) return false;
    if (!ids.empty() && delta == 0) return false;  // Not ascending.
    previous += delta;
    ids.push_back(previous);
  }
  return true;
}

struct Delta {
  std::vector<uint64_t> add, remove;
};

std::optional<Delta> DecodeDelta(absl::string_view in) {
  Delta d;
  uint64_t n;
  if (!GetVarint64(in, n) || n > in.size() || !GetIds(in, n, d.add)) {
    return std::nullopt;
  }
  if (!GetVarint64(in, n) || n > in.size() || !GetIds(in, n, d.remove) ||
      !in.empty()) {
    return std::nullopt;
  }
  return d;
}

std::vector<uint64_t> Minus(const std::vector<uint64_t>& a,
                            const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::back_inserter(out));
  return out;
}

std::vector<uint64_t> Union(const std::vector<uint64_t>& a,
                            const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                 std::back_inserter(out));
  return out;
}

// `d` followed by `next`, as one delta.
void Compose(Delta& d, const Delta& next) {
  d.add = Union(Minus(d.add, next.remove), next.add);
  d.remove = Union(Minus(d.remove, next.add), next.remove);
}

absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

constexpr char kCountTag = 'c', kPostingTag = 'p';

bool IsCountKey(absl::string_view key) {
  return !key.empty() && key.front() == kCountTag;
}

class MergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in,
                   MergeOperationOutput* out) const override {
    if (IsCountKey(ToView(in.key))) {
      int64_t total = 0;
      if (in.existing_value != nullptr) {
        std::optional<int64_t> base = DecodeCount(ToView(*in.existing_value));
        if (!base) return false;
        total = *base;
      }
      for (const rocksdb::Slice& operand : in.operand_list) {
        std::optional<int64_t> delta = DecodeCount(ToView(operand));
        if (!delta) return false;
        total += *delta;
      }
      out->new_value = CountDelta(total);
      return true;
    }
    // Reads and compactions may meet many operands (one per batch that
    // touched the list): the last operand naming an ID decides whether it
    // is in, and the list is rebuilt once.
    std::vector<uint64_t> ids;
    if (in.existing_value != nullptr) {
      std::optional<std::vector<uint64_t>> base =
          DecodeIds(ToView(*in.existing_value));
      if (!base) return false;
      ids = *std::move(base);
    }
    std::vector<std::pair<uint64_t, size_t>> removed;  // ID, operand index
    std::vector<std::pair<uint64_t, size_t>> added;
    for (size_t i = 0; i < in.operand_list.size(); ++i) {
      std::optional<Delta> delta = DecodeDelta(ToView(in.operand_list[i]));
      if (!delta) return false;
      for (uint64_t id : delta->remove) removed.emplace_back(id, i);
      for (uint64_t id : delta->add) added.emplace_back(id, i);
    }
    std::sort(removed.begin(), removed.end());
    std::sort(added.begin(), added.end());
    // The operand index of the last removal of `id`, if any.
    auto last_removal = [&removed](uint64_t id) -> std::optional<size_t> {
      auto it = std::upper_bound(
          removed.begin(), removed.end(),
          std::make_pair(id, std::numeric_limits<size_t>::max()));
      if (it == removed.begin() || std::prev(it)->first != id) return std::nullopt;
      return std::prev(it)->second;
    };
    std::vector<uint64_t> kept;
    kept.reserve(ids.size() + added.size());
    for (uint64_t id : ids) {
      if (!last_removal(id)) kept.push_back(id);
    }
    std::vector<uint64_t> readded;
    for (size_t i = 0; i < added.size(); ++i) {
      const uint64_t id = added[i].first;
      if (i + 1 < added.size() && added[i + 1].first == id) continue;
      std::optional<size_t> removal = last_removal(id);
      if (!removal || *removal < added[i].second) readded.push_back(id);
    }
    out->new_value = EncodeIds(Union(kept, readded));
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& key,
                         const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value,
                         rocksdb::Logger*) const override {
    if (IsCountKey(ToView(key))) {
      int64_t total = 0;
      for (const rocksdb::Slice& operand : operands) {
        std::optional<int64_t> delta = DecodeCount(ToView(operand));
        if (!delta) return false;
        total += *delta;
      }
      *new_value = CountDelta(total);
      return true;
    }
    Delta combined;
    for (const rocksdb::Slice& operand : operands) {
      std::optional<Delta> delta = DecodeDelta(ToView(operand));
      if (!delta) return false;
      Compose(combined, *delta);
    }
    *new_value = PostingDelta(combined.add, combined.remove);
    return true;
  }

  const char* Name() const override { return "kouryu.postings.v1"; }
};

}  // namespace

uint64_t RecordIndexId(const v1::Record& record) {
  if (record.create_sequence() != 0) return record.create_sequence();
  return Fnv1a64(record.name()) | (1ULL << 63);
}

std::string GramCountPrefix(absl::string_view gram) {
  std::string key(1, kCountTag);
  AppendKeyComponent(key, gram);
  return key;
}

std::string GramCountKey(absl::string_view gram, int level) {
  std::string key = GramCountPrefix(gram);
  key.push_back(static_cast<char>(255 - level));
  return key;
}

std::string PostingPrefix(absl::string_view gram) {
  std::string key(1, kPostingTag);
  AppendKeyComponent(key, gram);
  return key;
}

std::string PostingLevelPrefix(absl::string_view gram, int level) {
  std::string key = PostingPrefix(gram);
  key.push_back(static_cast<char>(255 - level));
  return key;
}

std::string PostingKey(absl::string_view gram, int level, uint64_t chunk) {
  std::string key = PostingLevelPrefix(gram, level);
  PutFixed64BigEndian(key, chunk);
  return key;
}

std::optional<PostingKeyParts> ParsePostingKeySuffix(absl::string_view rest) {
  if (rest.size() != 9) return std::nullopt;
  std::optional<uint64_t> chunk = DecodeFixed64BigEndian(rest.substr(1));
  if (!chunk) return std::nullopt;
  return PostingKeyParts{255 - static_cast<uint8_t>(rest[0]), *chunk};
}

std::string EncodeIds(const std::vector<uint64_t>& ascending) {
  std::string out;
  PutIds(out, ascending);
  return out;
}

std::optional<std::vector<uint64_t>> DecodeIds(absl::string_view value) {
  std::vector<uint64_t> ids;
  if (!GetIds(value, std::nullopt, ids)) return std::nullopt;
  return ids;
}

std::string CountDelta(int64_t delta) {
  std::string out(8, '\0');
  const uint64_t bits = static_cast<uint64_t>(delta);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(bits >> (8 * i));
  return out;
}

std::optional<int64_t> DecodeCount(absl::string_view value) {
  if (value.size() != 8) return std::nullopt;
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(value[i])) << (8 * i);
  }
  return static_cast<int64_t>(bits);
}

std::string PostingDelta(const std::vector<uint64_t>& add,
                         const std::vector<uint64_t>& remove) {
  std::string out;
  PutVarint64(out, add.size());
  PutIds(out, add);
  PutVarint64(out, remove.size());
  PutIds(out, remove);
  return out;
}

std::shared_ptr<rocksdb::MergeOperator> PostingsMergeOperator() {
  return std::make_shared<MergeOperator>();
}

}  // namespace kouryu::query

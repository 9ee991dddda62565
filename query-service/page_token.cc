#include "query-service/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/coding.h"
#include "common/hash.h"
#include "common/keys.h"
#include "common/status.h"

namespace kouryu::query {
namespace {

constexpr char kVersion = '\x01';

absl::Status BadToken(absl::string_view why) {
  return InvalidArgumentError("INVALID_PAGE_TOKEN",
                              absl::StrCat("invalid page_token: ", why),
                              {{"page_token", std::string(why)}});
}

}  // namespace

uint64_t RequestFingerprint(absl::string_view parent, absl::string_view filter,
                            absl::string_view order_by) {
  return Fnv1a64(absl::StrCat(parent, "\x1f", filter, "\x1f", order_by));
}

std::string EncodePageToken(uint64_t fingerprint, absl::string_view after_key) {
  std::string raw(1, kVersion);
  PutFixed64BigEndian(raw, fingerprint);
  raw.append(after_key.data(), after_key.size());
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            uint64_t fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 9 ||
      raw[0] != kVersion) {
    return BadToken("not a token this service issued");
  }
  if (DecodeFixed64BigEndian(absl::string_view(raw).substr(1, 8)) != fingerprint) {
    return BadToken(
        "the token was issued for a different parent, filter or order_by");
  }
  return raw.substr(9);
}

}  // namespace kouryu::query

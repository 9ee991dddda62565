// Fuzz target: the `page_token` request field. The first 8 bytes are the
// request fingerprint, the rest the token (or, for the encode round trip,
// the scan key).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "query-service/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t fingerprint = 0;
  const size_t n = size < sizeof(fingerprint) ? size : sizeof(fingerprint);
  if (n > 0) std::memcpy(&fingerprint, data, n);
  absl::string_view rest(reinterpret_cast<const char*>(data) + n, size - n);

  // Any text as a token: an error or a key, never a crash.
  absl::StatusOr<std::string> key =
      kouryu::query::DecodePageToken(rest, fingerprint);
  if (key.ok() && !rest.empty()) {
    // A token that decodes is one we could have issued.
    absl::StatusOr<std::string> again = kouryu::query::DecodePageToken(
        kouryu::query::EncodePageToken(fingerprint, *key), fingerprint);
    FUZZ_CHECK("page_token.reencode", again.ok() && *again == *key);
  }

  // Any key survives encoding, and only for its own request.
  const std::string token = kouryu::query::EncodePageToken(fingerprint, rest);
  absl::StatusOr<std::string> decoded =
      kouryu::query::DecodePageToken(token, fingerprint);
  FUZZ_CHECK("page_token.round_trip", decoded.ok() && *decoded == rest);
  FUZZ_CHECK("page_token.bound_to_request",
             !kouryu::query::DecodePageToken(token, fingerprint + 1).ok());
  return 0;
}

#ifndef KOURYU_QUERY_SERVICE_PAGE_TOKEN_H_
#define KOURYU_QUERY_SERVICE_PAGE_TOKEN_H_

// Opaque page tokens (AIP-158). A token holds the scan position and a
// fingerprint of the request that made it (parent, filter, order_by), so a
// token reused with another request is rejected rather than misread.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace kouryu::query {

// Fingerprint of the request fields a token is bound to.
uint64_t RequestFingerprint(absl::string_view parent, absl::string_view filter,
                            absl::string_view order_by);

std::string EncodePageToken(uint64_t fingerprint, absl::string_view after_key);

// Returns the scan position. "" decodes to "" (the first page).
// InvalidArgument, with a violation on "page_token", when the token is
// malformed or was made for another request.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            uint64_t fingerprint);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_PAGE_TOKEN_H_

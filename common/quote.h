#ifndef KOURYU_COMMON_QUOTE_H_
#define KOURYU_COMMON_QUOTE_H_

// Quoting a caller's value in an error message or field violation. Errors
// travel in trailers, which clients cap (gRPC's default is 16 KiB), so a
// message must never carry a whole bad input: at most a short prefix.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace kouryu {

// Bytes of a value that QuoteValue shows at most.
inline constexpr size_t kMaxQuotedBytes = 64;

// `value` in double quotes, `"` and `\` escaped with `\`, control
// characters and bytes that are not UTF-8 written as \xNN. A value longer
// than `max_bytes` is cut at a character boundary and followed by
// `…" (N bytes)`. The result is valid UTF-8 of at most about
// 4 * max_bytes + 24 bytes.
std::string QuoteValue(absl::string_view value,
                       size_t max_bytes = kMaxQuotedBytes);

}  // namespace kouryu

#endif  // KOURYU_COMMON_QUOTE_H_

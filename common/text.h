#ifndef KOURYU_COMMON_TEXT_H_
#define KOURYU_COMMON_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kouryu {

// True when `code_point` has the Unicode White_Space property (as
// u_isUWhiteSpace, without its per-call property lookup).
bool IsWhiteSpace(int32_t code_point);

// True when `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

// NFKC (ＮＳＷ -> NSW, full-width digits -> ASCII), then every run of
// whitespace (including U+3000) collapsed to one ASCII space and the ends
// trimmed. The form used for matching and for results_text. `text` must be
// valid UTF-8; invalid sequences are replaced.
std::string NormalizeText(absl::string_view text);

}  // namespace kouryu

#endif  // KOURYU_COMMON_TEXT_H_

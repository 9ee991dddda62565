#ifndef KOURYU_INGEST_SERVICE_ENCODING_H_
#define KOURYU_INGEST_SERVICE_ENCODING_H_

// Decoding a table file to UTF-8. Published tables come as UTF-8 (with or
// without a BOM) or as Shift_JIS / CP932 from Excel. Decoding is strict:
// bytes that are not valid in the encoding are an error naming the line and
// column where they are, never a replacement character.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kouryu::ingest {

inline constexpr absl::string_view kUtf8 = "UTF-8";
inline constexpr absl::string_view kCp932 = "CP932";

struct DecodedText {
  // The text, unless `borrowed` holds it.
  std::string utf8 = {};
  // kUtf8 or kCp932.
  std::string encoding = {};
  // With borrow_utf8, UTF-8 content itself (after any BOM), not copied:
  // valid while the content is.
  absl::string_view borrowed = {};
  bool is_borrowed = false;

  absl::string_view text() const { return is_borrowed ? borrowed : utf8; }
};

// `encoding` names the encoding ("UTF-8"; "Shift_JIS", "CP932",
// "Windows-31J", "SJIS" all mean CP932; case does not matter) or is empty
// to detect it: a file whose header holds 分野 in CP932 bytes, or that is
// not valid UTF-8 but valid CP932, is CP932; otherwise UTF-8.
// InvalidArgument with a violation "rows[L].column[C]" for invalid bytes,
// or on "encoding" for an encoding name that is not supported.
// `borrow_utf8`: UTF-8 content is not copied (see DecodedText::borrowed).
absl::StatusOr<DecodedText> DecodeTable(absl::string_view content,
                                        absl::string_view encoding,
                                        bool borrow_utf8 = false);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_ENCODING_H_

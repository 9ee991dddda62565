#ifndef KOURYU_INGEST_SERVICE_RESULTS_HTML_H_
#define KOURYU_INGEST_SERVICE_RESULTS_HTML_H_

// Turns the results column (free text with HTML fragments such as
// <p>【文化交流】</p>, unclosed <ul>, ・ bullets) into plain text with an HTML5
// parser: no markup, no script or style content; one line per block element
// (paragraph, list item, line break), each NFKC-normalized with whitespace
// collapsed, empty lines dropped.

#include <string>
#include "absl/strings/string_view.h"

namespace kouryu::ingest {

// `html` must be valid UTF-8. Works on any nesting depth without recursion.
std::string ResultsText(absl::string_view html);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_RESULTS_HTML_H_

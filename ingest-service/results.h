#ifndef KOURYU_INGEST_SERVICE_RESULTS_H_
#define KOURYU_INGEST_SERVICE_RESULTS_H_

// Understanding the results column (④実績): free text with HTML fragments
// (<p>【文化交流】</p>, unclosed <ul>, ・ bullets written inline, ○ headings,
// circled numbers), as published.
//
// ParseResults turns it into
//   * text: plain text. The HTML is parsed with an HTML5 parser (gumbo);
//     script, style and template content and comments are dropped; each
//     block element (p, div, li, ul, ol, br, tr, h1-h6, ...) starts and
//     ends a line (as a browser shows it), and so does a line break in the
//     text itself (cells from Excel keep theirs);
//     each line is NFKC-normalized with whitespace collapsed; empty lines
//     are dropped; lines are joined with "\n".
//   * sections: the text read as headings and items. Markers count only at
//     the start of a line or after whitespace (so 児童・生徒 is one word):
//       【…】            starts a section; heading is the text inside 【】
//       ○ ◯ ◎ ● ■ □ ◆ ◇  starts a section; heading is the text after the
//                        marker up to the next marker or line end
//       ・ (or ･)         starts an item (the bullet is dropped)
//       ①…⑳              starts an item (the number and a following ・ are
//                        dropped)
//     A line break ends the current item or heading; text that follows no
//     marker (at the start, or on a new line) is an item of its own. Text
//     before the first heading goes into a section with an empty heading.
//     Headings and items are NFKC-normalized with whitespace collapsed;
//     empty items are dropped. Sections keep their order; a section may
//     have no items.
//
// Markers are recognized before NFKC (which would turn ① into "1").
//
// The text never holds a tag that the input did not hold as text: before
// parsing, NUL (which HTML5 drops from text) and the other control
// characters but tab, line feed, form feed and carriage return become
// U+FFFD, and a "<" read as text, or a reference to "<" (&lt; &#60; ...),
// that markup follows at once ("<</b>", "&lt;<!---->") gets a space after
// it; the text of two nodes that meet where
// the first ends in "<" and the second would start a tag is kept apart by a
// space ("&lt;<b>b</b>" is "< b"). So no markup the parser drops or that
// yields no text joins a "<" to the text after it.
//
// The HTML5 parser's work grows with the square of the nesting depth, so
// input with more than kMaxResultsTags tags is not given to it: its tags
// are removed by a linear scan instead (script and style content dropped,
// no block structure). The normalizer refuses such input outright; this
// keeps ParseResults safe for any caller. No recursion at any depth.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::ingest {

// Tags ("<" followed by a letter, "/" or "!") accepted in results.
inline constexpr size_t kMaxResultsTags = 1000;

// The number of tags in `html`.
size_t CountTags(absl::string_view html);

struct ParsedResults {
  std::string text;
  std::vector<v1::Section> sections;
};

// `html` must be valid UTF-8.
ParsedResults ParseResults(absl::string_view html);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_RESULTS_H_

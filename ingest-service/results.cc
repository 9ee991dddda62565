#include "ingest-service/results.h"

#include <gumbo.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/text.h"

namespace kouryu::ingest {
namespace {

bool IsSkipped(GumboTag tag) {
  return tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE ||
         tag == GUMBO_TAG_TEMPLATE || tag == GUMBO_TAG_HEAD ||
         tag == GUMBO_TAG_NOSCRIPT || tag == GUMBO_TAG_IFRAME;
}

bool IsBlock(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_LI:
    case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_BR:
    case GUMBO_TAG_TR: case GUMBO_TAG_TABLE: case GUMBO_TAG_DL:
    case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_H1:
    case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_HR: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE:
      return true;
    default:
      return false;
  }
}

// True when `c`, after "<", makes the HTML5 tokenizer read markup (a tag,
// an end tag, a comment or a doctype) instead of the text "<".
bool OpensTag(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '/' ||
         c == '!' || c == '?';
}

bool OpensMarkup(absl::string_view html, size_t i) {
  return i + 1 < html.size() && html[i] == '<' && OpensTag(html[i + 1]);
}

// A control character other than tab, line feed, form feed and carriage
// return (C0 or DEL).
bool IsControl(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') ||
         c == 0x7F;
}

// When a character reference to "<" (&lt; &LT &#60; &#x3c; ..., with or
// without ";") starts at `i`, the index after it; otherwise npos.
size_t LessThanReferenceEnd(absl::string_view html, size_t i) {
  if (html[i] != '&') return absl::string_view::npos;
  absl::string_view rest = html.substr(i + 1);
  size_t j = 0;
  if (absl::StartsWith(rest, "lt") || absl::StartsWith(rest, "LT")) {
    j = 2;
  } else if (absl::StartsWith(rest, "#")) {
    j = 1;
    const bool hex = j < rest.size() && (rest[j] == 'x' || rest[j] == 'X');
    if (hex) ++j;
    const size_t digits = j;
    uint32_t value = 0;
    for (; j < rest.size(); ++j) {
      const unsigned char d = static_cast<unsigned char>(rest[j]);
      if (!(hex ? absl::ascii_isxdigit(d) : absl::ascii_isdigit(d))) break;
      const uint32_t digit = absl::ascii_isdigit(d)
                                 ? d - '0'
                                 : absl::ascii_tolower(d) - 'a' + 10;
      value = std::min<uint32_t>(value * (hex ? 16 : 10) + digit, 0x110000);
    }
    if (j == digits || value != '<') return absl::string_view::npos;
  } else {
    return absl::string_view::npos;
  }
  if (j < rest.size() && rest[j] == ';') ++j;
  return i + 1 + j;
}

// The input as both parsers read it (results.h): control characters become
// U+FFFD, and a "<" that is text (or a reference to it) gets a space before
// markup that follows it at once, so that nothing the parser drops can join
// the "<" to later text.
std::string PrepareInput(absl::string_view html) {
  std::string out;
  out.reserve(html.size());
  for (size_t i = 0; i < html.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(html[i]);
    if (IsControl(c)) {
      out.append("\xEF\xBF\xBD");
      continue;
    }
    if (c == '&') {
      const size_t end = LessThanReferenceEnd(html, i);
      if (end != absl::string_view::npos && OpensMarkup(html, end)) {
        out.append(html.data() + i, end - i);
        out.push_back(' ');
        i = end - 1;
        continue;
      }
    }
    out.push_back(static_cast<char>(c));
    if (c == '<' && !OpensMarkup(html, i) && OpensMarkup(html, i + 1)) {
      out.push_back(' ');
    }
  }
  return out;
}

// The text of the HTML, with a line break around every block element and
// without script, style or template content. Iterative: a null entry on the
// stack marks the end of a block element.
std::string HtmlToRawText(absl::string_view html) {
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions,
                                                 html.data(), html.size());
  std::string raw;
  std::vector<const GumboNode*> stack = {output->root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node == nullptr) {
      raw.push_back('\n');
      continue;
    }
    switch (node->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA: {
        // Text of two nodes that meet ("&lt;" + "<b>b</b>") must not read
        // as a tag ("<b"): a space keeps them apart.
        const char* text = node->v.text.text;
        if (!raw.empty() && raw.back() == '<' && OpensTag(text[0])) {
          raw.push_back(' ');
        }
        raw.append(text);
        break;
      }
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE: {
        GumboTag tag = node->v.element.tag;
        if (IsSkipped(tag)) break;
        if (IsBlock(tag)) {
          raw.push_back('\n');
          stack.push_back(nullptr);
        }
        const GumboVector& children = node->v.element.children;
        for (unsigned i = children.length; i > 0; --i) {
          stack.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
        }
        break;
      }
      case GUMBO_NODE_DOCUMENT: {
        const GumboVector& children = node->v.document.children;
        for (unsigned i = children.length; i > 0; --i) {
          stack.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
        }
        break;
      }
      case GUMBO_NODE_COMMENT:
        break;
    }
  }
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  return raw;
}

bool StartsTag(absl::string_view html, size_t i) {
  if (html[i] != '<' || i + 1 >= html.size()) return false;
  char next = html[i + 1];
  return absl::ascii_isalpha(static_cast<unsigned char>(next)) || next == '/' ||
         next == '!';
}

// Linear fallback for input too large for the parser: drops tags, and the
// content of script and style elements; no line structure.
std::string StripTags(absl::string_view html) {
  std::string out;
  for (size_t i = 0; i < html.size();) {
    if (!StartsTag(html, i)) {
      out.push_back(html[i++]);
      continue;
    }
    size_t close = html.find('>', i);
    if (close == absl::string_view::npos) break;
    std::string tag = absl::AsciiStrToLower(html.substr(i + 1, close - i - 1));
    i = close + 1;
    for (absl::string_view skipped : {"script", "style"}) {
      if (absl::StartsWith(tag, skipped)) {
        size_t end = absl::AsciiStrToLower(html.substr(i)).find(
            absl::StrCat("</", skipped));
        i = end == std::string::npos ? html.size() : i + end;
      }
    }
    out.push_back(' ');
  }
  return out;
}

bool IsHeadingMark(UChar32 c) {
  switch (c) {
    case U'○': case U'◯': case U'◎': case U'●':
    case U'■': case U'□': case U'◆': case U'◇':
      return true;
    default:
      return false;
  }
}

bool IsBullet(UChar32 c) { return c == U'・' || c == U'･'; }
bool IsCircledNumber(UChar32 c) { return c >= 0x2460 && c <= 0x2473; }

// Reads the raw lines into sections, following the rules in results.h.
class SectionBuilder {
 public:
  void AddLine(absl::string_view line) {
    const int32_t length = static_cast<int32_t>(line.size());
    bool after_space = true;  // Line start counts as after whitespace.
    for (int32_t i = 0; i < length;) {
      const int32_t start = i;
      UChar32 c;
      U8_NEXT(line.data(), i, length, c);
      if (c < 0) c = 0xFFFD;
      absl::string_view bytes = line.substr(start, i - start);
      const bool space = IsWhiteSpace(c);
      if (after_space && !space) {
        if (c == U'【') {
          size_t close = line.find("】", i);
          if (close != absl::string_view::npos) {
            Flush();
            sections_.emplace_back().set_heading(
                NormalizeText(line.substr(i, close - i)));
            i = static_cast<int32_t>(close + sizeof("】") - 1);
            after_space = true;
            continue;
          }
        } else if (IsHeadingMark(c)) {
          Flush();
          unit_ = Unit::kHeading;
          after_space = false;
          continue;
        } else if (IsBullet(c) || IsCircledNumber(c)) {
          Flush();
          unit_ = Unit::kItem;
          if (IsCircledNumber(c) && i < length) {
            int32_t next = i;
            UChar32 following;
            U8_NEXT(line.data(), next, length, following);
            if (IsBullet(following)) i = next;
          }
          after_space = false;
          continue;
        }
      }
      if (unit_ == Unit::kNone && !space) unit_ = Unit::kItem;
      text_.append(bytes.data(), bytes.size());
      after_space = space;
    }
    Flush();
  }

  std::vector<v1::Section> Finish() {
    Flush();
    return std::move(sections_);
  }

 private:
  enum class Unit { kNone, kHeading, kItem };

  void Flush() {
    std::string text = NormalizeText(text_);
    text_.clear();
    Unit unit = unit_;
    unit_ = Unit::kNone;
    if (unit == Unit::kHeading) {
      sections_.emplace_back().set_heading(std::move(text));
    } else if (unit == Unit::kItem && !text.empty()) {
      if (sections_.empty()) sections_.emplace_back();
      sections_.back().add_items(std::move(text));
    }
  }

  std::vector<v1::Section> sections_;
  std::string text_;
  Unit unit_ = Unit::kNone;
};

}  // namespace

size_t CountTags(absl::string_view html) {
  size_t tags = 0;
  for (size_t i = 0; i < html.size(); ++i) tags += StartsTag(html, i) ? 1 : 0;
  return tags;
}

ParsedResults ParseResults(absl::string_view html) {
  const std::string input = PrepareInput(html);
  std::string raw = CountTags(input) > kMaxResultsTags ? StripTags(input)
                                                       : HtmlToRawText(input);
  ParsedResults out;
  std::vector<std::string> lines;
  SectionBuilder sections;
  for (absl::string_view line : absl::StrSplit(raw, '\n')) {
    std::string normalized = NormalizeText(line);
    if (normalized.empty()) continue;
    lines.push_back(std::move(normalized));
    sections.AddLine(line);
  }
  out.text = absl::StrJoin(lines, "\n");
  out.sections = sections.Finish();
  return out;
}

}  // namespace kouryu::ingest

#include "ingest-service/results_html.h"

#include <gumbo.h>

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/text.h"

namespace kouryu::ingest {
namespace {

bool IsSkipped(GumboTag tag) {
  return tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE ||
         tag == GUMBO_TAG_TEMPLATE || tag == GUMBO_TAG_HEAD;
}

bool IsBlock(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_LI:
    case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_BR:
    case GUMBO_TAG_TR: case GUMBO_TAG_TABLE: case GUMBO_TAG_DL:
    case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_H1:
    case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_HR:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string ResultsText(absl::string_view html) {
  GumboOutput* output = gumbo_parse_with_options(
      &kGumboDefaultOptions, html.data(), html.size());
  std::string raw;
  // Depth-first walk with an explicit stack; a null entry marks the end of
  // a block element, where a line break goes.
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
      case GUMBO_NODE_CDATA:
        raw.append(node->v.text.text);
        break;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
      case GUMBO_NODE_DOCUMENT: {
        const GumboVector& children = node->type == GUMBO_NODE_DOCUMENT
                                          ? node->v.document.children
                                          : node->v.element.children;
        if (node->type != GUMBO_NODE_DOCUMENT) {
          GumboTag tag = node->v.element.tag;
          if (IsSkipped(tag)) break;
          if (IsBlock(tag)) {
            raw.push_back('\n');
            stack.push_back(nullptr);
          }
        }
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

  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(raw, '\n')) {
    std::string normalized = NormalizeText(line);
    if (!normalized.empty()) lines.push_back(std::move(normalized));
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace kouryu::ingest

#include "query-service/filter.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/quote.h"
#include "common/status.h"
#include "common/text.h"
#include "google/protobuf/descriptor.h"

namespace kouryu::query {

enum class Field {
  kFiscalYear,
  kCategory,
  kDepartment,
  kCity,
  kBureau,
  kMentionedCity,
  kEventDate,
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

struct Filter::Node {
  enum class Kind { kAnd, kOr, kNot, kCompare };

  Kind kind = Kind::kCompare;
  // kAnd, kOr: two or more; kNot: one.
  std::vector<Node> children;

  // kCompare only.
  Field field = Field::kFiscalYear;
  Op op = Op::kEq;
  // fiscal_year, or the category's enum number.
  int64_t number = 0;
  // The string fields' value; event_date's value as written.
  std::string text;
  // event_date: the value's first and last day as DayKey()s.
  int first_day = 0;
  int last_day = 0;
  // 1-based character column of the value, for errors found after parsing.
  int column = 0;
};

namespace {

using Node = Filter::Node;

constexpr absl::string_view kReason = "INVALID_FILTER";

struct FieldSpec {
  absl::string_view name;
  Field field;
  bool ordered;  // allows < <= > >= besides = !=
};

constexpr FieldSpec kFields[] = {
    {"fiscal_year", Field::kFiscalYear, true},
    {"category", Field::kCategory, false},
    {"department", Field::kDepartment, false},
    {"city", Field::kCity, false},
    {"bureau", Field::kBureau, false},
    {"mentioned_city", Field::kMentionedCity, false},
    {"event_date", Field::kEventDate, true},
};

absl::string_view FieldName(Field field) {
  for (const FieldSpec& spec : kFields) {
    if (spec.field == field) return spec.name;
  }
  return "?";
}

absl::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
  }
  return "?";
}

// The whole value as a filter string, for DebugString (errors quote only a
// prefix, with QuoteValue).
std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------
// Dates are compared as DayKey = year * 10000 + month * 100 + day, which
// orders like the calendar.

int DayKey(int year, int month, int day) {
  return year * 10000 + month * 100 + day;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// The first and last day a google.type.Date covers: a day, a month (day 0)
// or a year (month 0). Out-of-range months or days are clamped.
int FirstDayOf(const google::type::Date& date) {
  const int month = std::clamp(date.month(), 0, 12);
  if (month == 0) return DayKey(date.year(), 1, 1);
  const int day = std::clamp(date.day(), 0, DaysInMonth(date.year(), month));
  return DayKey(date.year(), month, std::max(day, 1));
}

int LastDayOf(const google::type::Date& date) {
  const int month = std::clamp(date.month(), 0, 12);
  if (month == 0) return DayKey(date.year(), 12, 31);
  const int last = DaysInMonth(date.year(), month);
  const int day = std::clamp(date.day(), 0, last);
  return DayKey(date.year(), month, day == 0 ? last : day);
}

// An event's [first, last] day; false when it has no date at all.
bool EventRange(const v1::Event& event, int* first, int* last) {
  const google::type::Date* start =
      event.start_date().year() != 0 ? &event.start_date() : nullptr;
  const google::type::Date* end =
      event.end_date().year() != 0 ? &event.end_date() : nullptr;
  if (start == nullptr && end == nullptr) return false;
  if (start == nullptr) start = end;
  if (end == nullptr) end = start;
  *first = FirstDayOf(*start);
  // An end before the start is bad data; fall back to the start alone.
  *last = std::max(LastDayOf(*end), LastDayOf(*start));
  return true;
}

bool TwoDigits(absl::string_view text, int* value) {
  if (text.size() != 2 || !absl::ascii_isdigit(text[0]) ||
      !absl::ascii_isdigit(text[1])) {
    return false;
  }
  *value = (text[0] - '0') * 10 + (text[1] - '0');
  return true;
}

// Parses YYYY-MM-DD (one day) or YYYY-MM (the whole month).
bool ParseDateValue(absl::string_view text, int* first, int* last) {
  if (text.size() != 7 && text.size() != 10) return false;
  int year = 0;
  for (char c : text.substr(0, 4)) {
    if (!absl::ascii_isdigit(c)) return false;
    year = year * 10 + (c - '0');
  }
  int month = 0;
  if (year == 0 || text[4] != '-' || !TwoDigits(text.substr(5, 2), &month) ||
      month < 1 || month > 12) {
    return false;
  }
  if (text.size() == 7) {
    *first = DayKey(year, month, 1);
    *last = DayKey(year, month, DaysInMonth(year, month));
    return true;
  }
  int day = 0;
  if (text[7] != '-' || !TwoDigits(text.substr(8, 2), &day) || day < 1 ||
      day > DaysInMonth(year, month)) {
    return false;
  }
  *first = *last = DayKey(year, month, day);
  return true;
}

// ---------------------------------------------------------------------------
// Tokens.

enum class Tok { kEnd, kLParen, kRParen, kOp, kWord, kString, kAnd, kOr, kNot };

struct Token {
  Tok kind = Tok::kEnd;
  // Byte offset in the filter text.
  size_t offset = 0;
  // kWord, kString (unescaped), keywords; the operator for kOp.
  std::string text;
  Op op = Op::kEq;
};

std::string Describe(const Token& token) {
  switch (token.kind) {
    case Tok::kEnd:
      return "the end of the filter";
    case Tok::kString:
      return absl::StrCat("the string ", QuoteValue(token.text));
    default:
      return QuoteValue(token.text);
  }
}

// 1-based column, in UTF-8 characters, of byte `offset` in `text`.
int ColumnAt(absl::string_view text, size_t offset) {
  int column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

int CharacterCount(absl::string_view text) {
  return ColumnAt(text, text.size()) - 1;
}

bool IsWordByte(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// U+3000 IDEOGRAPHIC SPACE, common in Japanese input.
constexpr absl::string_view kIdeographicSpace = "\xE3\x80\x80";

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  // Parses the tokens; call after Tokenize() succeeded and !blank().
  absl::StatusOr<Node> ParseTokens() {
    absl::StatusOr<Node> node = ParseExpression(0);
    if (!node.ok()) return node.status();
    const Token& next = Peek();
    if (next.kind == Tok::kRParen) {
      return Error(next.offset, "unmatched \")\"");
    }
    if (next.kind != Tok::kEnd) {
      return Error(next.offset,
                   absl::StrCat("unexpected ", Describe(next),
                                "; expected AND, OR or the end of the filter"));
    }
    return node;
  }

  // True when the text holds no token.
  bool blank() const { return tokens_.size() == 1; }

  absl::Status Error(size_t offset, absl::string_view what) const {
    return ErrorAtColumn(ColumnAt(text_, offset), what);
  }

  static absl::Status ErrorAtColumn(int column, absl::string_view what) {
    const std::string description = absl::StrCat("column ", column, ": ", what);
    return InvalidArgumentError(kReason,
                                absl::StrCat("invalid filter: ", description),
                                {{"filter", description}});
  }

  // Splits the text into tokens_, ending with a kEnd token.
  absl::Status Tokenize() {
    size_t i = 0;
    while (true) {
      while (i < text_.size()) {
        if (absl::ascii_isspace(text_[i])) {
          ++i;
        } else if (absl::StartsWith(text_.substr(i), kIdeographicSpace)) {
          i += kIdeographicSpace.size();
        } else {
          break;
        }
      }
      Token token;
      token.offset = i;
      if (i == text_.size()) {
        tokens_.push_back(std::move(token));
        return absl::OkStatus();
      }
      const char c = text_[i];
      const char next = i + 1 < text_.size() ? text_[i + 1] : '\0';
      if (c == '(' || c == ')') {
        token.kind = c == '(' ? Tok::kLParen : Tok::kRParen;
        token.text = std::string(1, c);
        ++i;
      } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        token.kind = Tok::kOp;
        const bool with_eq = next == '=';
        if (c == '!' && !with_eq) {
          return Error(i, "unexpected \"!\"; did you mean \"!=\"?");
        }
        if (c == '=') token.op = Op::kEq;
        if (c == '!') token.op = Op::kNe;
        if (c == '<') token.op = with_eq ? Op::kLe : Op::kLt;
        if (c == '>') token.op = with_eq ? Op::kGe : Op::kGt;
        token.text = std::string(OpText(token.op));
        i += token.text.size();
      } else if (c == '"') {
        token.kind = Tok::kString;
        ++i;
        while (true) {
          if (i == text_.size()) {
            return Error(token.offset, "unterminated string");
          }
          if (text_[i] == '"') break;
          if (text_[i] == '\\') {
            if (i + 1 < text_.size() &&
                (text_[i + 1] == '"' || text_[i + 1] == '\\')) {
              ++i;
            } else {
              return Error(i,
                           "unsupported escape in a string; only \\\" and "
                           "\\\\ are allowed");
            }
          }
          token.text += text_[i++];
        }
        ++i;  // the closing quote
      } else if (IsWordByte(c)) {
        size_t end = i;
        while (end < text_.size() && IsWordByte(text_[end]) &&
               !absl::StartsWith(text_.substr(end), kIdeographicSpace)) {
          ++end;
        }
        token.text = std::string(text_.substr(i, end - i));
        token.kind = token.text == "AND"   ? Tok::kAnd
                     : token.text == "OR"  ? Tok::kOr
                     : token.text == "NOT" ? Tok::kNot
                                           : Tok::kWord;
        i = end;
      } else {
        std::string what =
            absl::StrCat("unexpected character ",
                         QuoteValue(absl::string_view(&text_[i], 1)));
        if (c == ':')
          absl::StrAppend(&what, "; the has operator is not supported");
        return Error(i, what);
      }
      tokens_.push_back(std::move(token));
    }
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_++]; }  // never past kEnd

  static bool StartsTerm(const Token& token) {
    return token.kind == Tok::kWord || token.kind == Tok::kString ||
           token.kind == Tok::kLParen || token.kind == Tok::kNot;
  }

  // Appends `child` to an AND or OR node of the same kind, flattening a
  // (parenthesized) child of that kind.
  static void Append(Node* parent, Node child) {
    if (child.kind == parent->kind) {
      for (Node& grandchild : child.children) {
        parent->children.push_back(std::move(grandchild));
      }
    } else {
      parent->children.push_back(std::move(child));
    }
  }

  static Node Collapse(Node chain) {
    if (chain.children.size() == 1) return std::move(chain.children[0]);
    return chain;
  }

  // expression := or_chain { ["AND"] or_chain }   (AIP-160: OR binds tighter)
  absl::StatusOr<Node> ParseExpression(int depth) {
    Node chain;
    chain.kind = Node::Kind::kAnd;
    absl::string_view after = "";
    while (true) {
      absl::StatusOr<Node> operand = ParseOrChain(depth, after);
      if (!operand.ok()) return operand.status();
      Append(&chain, *std::move(operand));
      if (Peek().kind == Tok::kAnd) {
        Next();
        after = "AND";
      } else if (StartsTerm(Peek())) {
        after = "";
      } else {
        break;
      }
    }
    return Collapse(std::move(chain));
  }

  // or_chain := term { "OR" term }
  absl::StatusOr<Node> ParseOrChain(int depth, absl::string_view after) {
    Node chain;
    chain.kind = Node::Kind::kOr;
    while (true) {
      absl::StatusOr<Node> term = ParseTerm(depth, after);
      if (!term.ok()) return term.status();
      Append(&chain, *std::move(term));
      if (Peek().kind != Tok::kOr) break;
      Next();
      after = "OR";
    }
    return Collapse(std::move(chain));
  }

  // term := ["NOT" | "-"] factor
  absl::StatusOr<Node> ParseTerm(int depth, absl::string_view after) {
    bool negate = false;
    Token& token = tokens_[pos_];
    if (token.kind == Tok::kNot) {
      Next();
      negate = true;
      after = "NOT";
    } else if (token.kind == Tok::kWord && token.text[0] == '-') {
      negate = true;
      after = "-";
      if (token.text.size() == 1) {
        Next();
      } else {  // "-field": the rest of the word is the field
        token.text.erase(0, 1);
        ++token.offset;
      }
    }
    absl::StatusOr<Node> factor = ParseFactor(depth, after);
    if (!factor.ok() || !negate) return factor;
    Node node;
    node.kind = Node::Kind::kNot;
    node.children.push_back(*std::move(factor));
    return node;
  }

  // factor := "(" expression ")" | comparison
  absl::StatusOr<Node> ParseFactor(int depth, absl::string_view after) {
    const Token& token = Peek();
    if (token.kind == Tok::kWord) return ParseComparison();
    if (token.kind != Tok::kLParen) {
      std::string what = "expected a comparison or \"(\"";
      if (!after.empty()) absl::StrAppend(&what, " after ", QuoteValue(after));
      if (token.kind != Tok::kEnd)
        absl::StrAppend(&what, ", got ", Describe(token));
      return Error(token.offset, what);
    }
    const size_t open = Next().offset;
    if (depth >= kMaxFilterDepth) {
      return Error(open, absl::StrCat("parentheses nested deeper than ",
                                      kMaxFilterDepth));
    }
    if (Peek().kind == Tok::kRParen) {
      return Error(open, "empty expression inside parentheses");
    }
    absl::StatusOr<Node> inner = ParseExpression(depth + 1);
    if (!inner.ok()) return inner;
    const Token& close = Peek();
    if (close.kind == Tok::kEnd) {
      return Error(close.offset,
                   absl::StrCat("expected \")\" to close the \"(\" at column ",
                                ColumnAt(text_, open)));
    }
    if (close.kind != Tok::kRParen) {
      return Error(close.offset, absl::StrCat("unexpected ", Describe(close),
                                              "; expected AND, OR or \")\""));
    }
    Next();
    return inner;
  }

  // comparison := field op value
  absl::StatusOr<Node> ParseComparison() {
    const Token& name = Next();
    const FieldSpec* spec = nullptr;
    for (const FieldSpec& candidate : kFields) {
      if (candidate.name == name.text) spec = &candidate;
    }
    if (spec == nullptr) return UnknownField(name);

    const Token& op = Peek();
    if (op.kind != Tok::kOp) {
      std::string what =
          absl::StrCat("expected an operator (=, !=, <, <=, >, >=) after ",
                       QuoteValue(name.text));
      if (op.kind != Tok::kEnd) absl::StrAppend(&what, ", got ", Describe(op));
      return Error(op.offset, what);
    }
    Next();
    if (!spec->ordered && op.op != Op::kEq && op.op != Op::kNe) {
      return Error(op.offset, absl::StrCat("operator ", QuoteValue(op.text),
                                           " is not allowed for ", spec->name,
                                           "; use = or !="));
    }

    const Token& value = Peek();
    if (value.kind != Tok::kWord && value.kind != Tok::kString) {
      std::string what =
          absl::StrCat("expected a value after ", QuoteValue(op.text));
      if (value.kind != Tok::kEnd)
        absl::StrAppend(&what, ", got ", Describe(value));
      return Error(value.offset, what);
    }
    Next();

    Node node;
    node.field = spec->field;
    node.op = op.op;
    node.column = ColumnAt(text_, value.offset);
    if (absl::Status status = SetValue(value, &node); !status.ok()) {
      return status;
    }
    return node;
  }

  absl::Status UnknownField(const Token& name) const {
    std::vector<absl::string_view> known;
    for (const FieldSpec& spec : kFields) known.push_back(spec.name);
    std::string what = absl::StrCat("unknown field ", QuoteValue(name.text));
    const std::string upper = absl::AsciiStrToUpper(name.text);
    if (upper == "AND" || upper == "OR" || upper == "NOT") {
      absl::StrAppend(&what, " (the keywords AND, OR and NOT are upper case)");
    }
    absl::StrAppend(&what, "; known fields: ", absl::StrJoin(known, ", "));
    return Error(name.offset, what);
  }

  absl::Status SetValue(const Token& value, Node* node) const {
    switch (node->field) {
      case Field::kFiscalYear: {
        int32_t year = 0;
        if (!absl::SimpleAtoi(value.text, &year)) {
          return Error(value.offset,
                       absl::StrCat("fiscal_year must be an integer, got ",
                                    QuoteValue(value.text)));
        }
        node->number = year;
        return absl::OkStatus();
      }
      case Field::kCategory:
        return SetCategory(value, node);
      case Field::kEventDate:
        if (!ParseDateValue(value.text, &node->first_day, &node->last_day)) {
          return Error(value.offset,
                       absl::StrCat(QuoteValue(value.text),
                                    " is not a date; expected YYYY-MM-DD or "
                                    "YYYY-MM"));
        }
        node->text = value.text;
        return absl::OkStatus();
      case Field::kDepartment:
      case Field::kCity:
      case Field::kBureau:
      case Field::kMentionedCity:
        node->text = value.text;
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status SetCategory(const Token& value, Node* node) const {
    constexpr absl::string_view kPrefix = "CATEGORY_";
    std::string name = absl::AsciiStrToUpper(value.text);
    if (!absl::StartsWith(name, kPrefix)) name = absl::StrCat(kPrefix, name);
    v1::Category category;
    if (v1::Category_Parse(name, &category)) {
      node->number = category;
      return absl::OkStatus();
    }
    const google::protobuf::EnumDescriptor* descriptor =
        v1::Category_descriptor();
    std::vector<std::string> valid;
    for (int i = 0; i < descriptor->value_count(); ++i) {
      absl::string_view full = descriptor->value(i)->name();
      absl::ConsumePrefix(&full, kPrefix);
      valid.emplace_back(full);
    }
    return Error(value.offset,
                 absl::StrCat(QuoteValue(value.text),
                              " is not a category; valid values: ",
                              absl::StrJoin(valid, ", "),
                              " (the CATEGORY_ prefix is optional)"));
  }

  absl::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Evaluation.

bool CompareNumbers(int64_t left, Op op, int64_t right) {
  switch (op) {
    case Op::kEq:
      return left == right;
    case Op::kNe:
      return left != right;
    case Op::kLt:
      return left < right;
    case Op::kLe:
      return left <= right;
    case Op::kGt:
      return left > right;
    case Op::kGe:
      return left >= right;
  }
  return false;
}

// The events an evaluation looks at: every event of the record (`only` < 0)
// or events(only) alone.
struct EventScope {
  const v1::Record& record;
  int only = -1;

  int begin() const { return only < 0 ? 0 : only; }
  int end() const { return only < 0 ? record.events_size() : only + 1; }
};

// Whether the event [first, last] satisfies `op` against the node's value;
// kNe is evaluated by the caller as "no event is equal".
bool EventSatisfies(int first, int last, const Node& node) {
  switch (node.op) {
    case Op::kEq:
    case Op::kNe:
      return first <= node.last_day && last >= node.first_day;
    case Op::kGe:
      return last >= node.first_day;
    case Op::kGt:
      return last > node.last_day;
    case Op::kLe:
      return first <= node.last_day;
    case Op::kLt:
      return first < node.first_day;
  }
  return false;
}

// An event_date comparison that the operands of an AND chain share one
// event for (all but !=, which says that no event is equal).
bool IsEventRangeBound(const Node& node) {
  return node.kind == Node::Kind::kCompare && node.field == Field::kEventDate &&
         node.op != Op::kNe;
}

// Whether some event in `scope` satisfies every event range bound among
// `nodes` (at least one of them is one).
bool SomeEventSatisfiesAll(const std::vector<Node>& nodes,
                           const EventScope& scope) {
  for (int i = scope.begin(); i < scope.end(); ++i) {
    int first = 0;
    int last = 0;
    if (!EventRange(scope.record.events(i), &first, &last)) continue;
    const bool all =
        std::all_of(nodes.begin(), nodes.end(), [&](const Node& n) {
          return !IsEventRangeBound(n) || EventSatisfies(first, last, n);
        });
    if (all) return true;
  }
  return false;
}

bool MatchesEventDate(const Node& node, const EventScope& scope) {
  bool any = false;
  for (int i = scope.begin(); i < scope.end(); ++i) {
    int first = 0;
    int last = 0;
    if (EventRange(scope.record.events(i), &first, &last) &&
        EventSatisfies(first, last, node)) {
      any = true;
      break;
    }
  }
  return node.op == Op::kNe ? !any : any;
}

bool MatchesComparison(const Node& node, const EventScope& scope) {
  const v1::Record& record = scope.record;
  const bool eq = node.op == Op::kEq;
  switch (node.field) {
    case Field::kFiscalYear:
      return CompareNumbers(record.fiscal_year(), node.op, node.number);
    case Field::kCategory:
      return (record.category() == node.number) == eq;
    case Field::kDepartment:
      return (record.department() == node.text) == eq;
    case Field::kCity:
      return (record.city().id() == node.text) == eq;
    case Field::kBureau:
      return (record.bureau().id() == node.text) == eq;
    case Field::kMentionedCity: {
      const bool any = std::any_of(
          record.mentioned_cities().begin(), record.mentioned_cities().end(),
          [&](const v1::City& city) { return city.id() == node.text; });
      return any == eq;
    }
    case Field::kEventDate:
      return MatchesEventDate(node, scope);
  }
  return false;
}

// Recursion is bounded: the parser limits nesting to kMaxFilterDepth and
// flattens AND and OR chains.
bool Evaluate(const Node& node, const EventScope& scope) {
  switch (node.kind) {
    case Node::Kind::kAnd: {
      // The chain's event range bounds are checked together, on one event.
      bool bounds = false;
      for (const Node& child : node.children) {
        if (IsEventRangeBound(child)) {
          bounds = true;
        } else if (!Evaluate(child, scope)) {
          return false;
        }
      }
      return !bounds || SomeEventSatisfiesAll(node.children, scope);
    }
    case Node::Kind::kOr:
      for (const Node& child : node.children) {
        if (Evaluate(child, scope)) return true;
      }
      return false;
    case Node::Kind::kNot:
      return !Evaluate(node.children[0], scope);
    case Node::Kind::kCompare:
      return MatchesComparison(node, scope);
  }
  return false;
}

bool HasEventDate(const Node& node) {
  if (node.kind == Node::Kind::kCompare) return node.field == Field::kEventDate;
  return std::any_of(node.children.begin(), node.children.end(), HasEventDate);
}

// Resolves the city and bureau values of `node` and its children in place.
absl::Status ResolveNames(const NameResolver& names, Node& node) {
  for (Node& child : node.children) {
    if (absl::Status status = ResolveNames(names, child); !status.ok()) {
      return status;
    }
  }
  if (node.kind != Node::Kind::kCompare) return absl::OkStatus();
  const bool city =
      node.field == Field::kCity || node.field == Field::kMentionedCity;
  if (!city && node.field != Field::kBureau) return absl::OkStatus();
  const std::vector<std::string> ids =
      city ? names.CityIds(node.text) : names.BureauIds(node.text);
  if (ids.size() == 1) {
    node.text = ids[0];
    return absl::OkStatus();
  }
  const absl::string_view kind = city ? "city" : "bureau";
  if (ids.empty()) {
    return Parser::ErrorAtColumn(
        node.column,
        absl::StrCat(
            "no ", kind, " is named ", QuoteValue(node.text), "; name a ", kind,
            " by its ID (", city ? "\"paris\"" : "\"environment\"",
            ") or by a Japanese or English name or alias the "
            "gazetteer gives it (",
            city ? "パリ市, Paris" : "環境局, Bureau of Environment", ")"));
  }
  return Parser::ErrorAtColumn(
      node.column,
      absl::StrCat(QuoteValue(node.text), " may name the ",
                   city ? "cities " : "bureaus ", absl::StrJoin(ids, ", "),
                   "; use one of these IDs"));
}

std::string ValueString(const Node& node) {
  switch (node.field) {
    case Field::kFiscalYear:
      return absl::StrCat(node.number);
    case Field::kCategory:
      return v1::Category_Name(static_cast<v1::Category>(node.number));
    case Field::kEventDate:
      return node.text;
    default:
      return Quote(node.text);
  }
}

void AppendDebugString(const Node& node, std::string* out) {
  switch (node.kind) {
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
    case Node::Kind::kNot: {
      out->append(node.kind == Node::Kind::kAnd  ? "AND("
                  : node.kind == Node::Kind::kOr ? "OR("
                                                 : "NOT(");
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out->append(", ");
        AppendDebugString(node.children[i], out);
      }
      out->append(")");
      return;
    }
    case Node::Kind::kCompare:
      absl::StrAppend(out, FieldName(node.field), " ", OpText(node.op), " ",
                      ValueString(node));
      return;
  }
}

// The first `field = value` comparison in the top-level AND chain.
const Node* FindRequired(const Node* root, Field field) {
  if (root == nullptr) return nullptr;
  auto is_required = [field](const Node& node) {
    return node.kind == Node::Kind::kCompare && node.field == field &&
           node.op == Op::kEq;
  };
  if (is_required(*root)) return root;
  if (root->kind != Node::Kind::kAnd) return nullptr;
  // AND chains are flattened, so the chain's comparisons are its children.
  for (const Node& child : root->children) {
    if (is_required(child)) return &child;
  }
  return nullptr;
}

}  // namespace

Filter::Filter() = default;

Filter::Filter(std::shared_ptr<const Node> root)
    : root_(std::move(root)),
      has_event_date_(root_ != nullptr && HasEventDate(*root_)) {}

absl::StatusOr<Filter> Filter::Parse(absl::string_view text) {
  Parser parser(text);
  // Checked before any other work so that hostile input costs one pass.
  if (CharacterCount(text) > kMaxFilterLength) {
    return Parser::ErrorAtColumn(kMaxFilterLength + 1,
                                 absl::StrCat("the filter is longer than ",
                                              kMaxFilterLength, " characters"));
  }
  if (!IsValidUtf8(text)) {
    return parser.Error(0, "the filter is not valid UTF-8");
  }
  if (absl::Status status = parser.Tokenize(); !status.ok()) return status;
  if (parser.blank()) return Filter();
  absl::StatusOr<Node> root = parser.ParseTokens();
  if (!root.ok()) return root.status();
  return Filter(std::make_shared<const Node>(*std::move(root)));
}

bool Filter::Matches(const v1::Record& record) const {
  return root_ == nullptr || Evaluate(*root_, EventScope{record});
}

bool Filter::MatchesEvent(const v1::Record& record, int event) const {
  if (event < 0 || event >= record.events_size()) return false;
  return root_ == nullptr || Evaluate(*root_, EventScope{record, event});
}

absl::StatusOr<Filter> Filter::Resolve(const NameResolver& names) const {
  if (root_ == nullptr) return *this;
  Node copy = *root_;
  if (absl::Status status = ResolveNames(names, copy); !status.ok()) {
    return status;
  }
  return Filter(std::make_shared<const Node>(std::move(copy)));
}

std::optional<int> Filter::RequiredFiscalYear() const {
  const Node* node = FindRequired(root_.get(), Field::kFiscalYear);
  if (node == nullptr) return std::nullopt;
  return static_cast<int>(node->number);
}

std::optional<std::string> Filter::RequiredCity() const {
  const Node* node = FindRequired(root_.get(), Field::kCity);
  if (node == nullptr) return std::nullopt;
  return node->text;
}

std::optional<std::string> Filter::RequiredBureau() const {
  const Node* node = FindRequired(root_.get(), Field::kBureau);
  if (node == nullptr) return std::nullopt;
  return node->text;
}

std::string Filter::DebugString() const {
  std::string out;
  if (root_ != nullptr) AppendDebugString(*root_, &out);
  return out;
}

}  // namespace kouryu::query

#include "ingest-service/events.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kouryu::ingest {
namespace {

// A calendar point as written: year 0 when not written, day 0 for a month.
struct Point {
  int year = 0;
  int month = 0;
  int day = 0;
};

// One date expression and the bytes it spans in the item.
struct DateExpr {
  Point start;
  Point end;
  size_t begin = 0;
  size_t finish = 0;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The participants of one event are capped here (a sum of six-digit counts
// could otherwise overflow).
constexpr int64_t kMaxParticipants = 10'000'000;

class Cursor {
 public:
  Cursor(absl::string_view text, size_t pos) : text_(text), pos_(pos) {}

  size_t pos() const { return pos_; }

  // Reads 1..max_digits ASCII digits not followed by another digit.
  std::optional<int> Number(int max_digits) {
    size_t end = pos_;
    while (end < text_.size() && IsDigit(text_[end])) ++end;
    if (end == pos_ || end - pos_ > static_cast<size_t>(max_digits)) {
      return std::nullopt;
    }
    int value = 0;
    for (size_t i = pos_; i < end; ++i) value = value * 10 + (text_[i] - '0');
    pos_ = end;
    return value;
  }

  bool Literal(absl::string_view s) {
    if (!absl::StartsWith(text_.substr(pos_), s)) return false;
    pos_ += s.size();
    return true;
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }

  // Skips a short parenthesized note such as "(火・祝)".
  void SkipWeekday() {
    if (pos_ >= text_.size() || text_[pos_] != '(') return;
    size_t close = text_.find(')', pos_);
    if (close != absl::string_view::npos && close - pos_ <= 16) {
      pos_ = close + 1;
    }
  }

 private:
  absl::string_view text_;
  size_t pos_;
};

// "[YYYY年]M月[D日]" at the cursor; on failure the cursor does not move.
std::optional<Point> ReadPoint(Cursor& c) {
  const Cursor start = c;
  auto fail = [&c, &start]() -> std::optional<Point> {
    c = start;
    return std::nullopt;
  };
  Point p;
  std::optional<int> number = c.Number(4);
  if (!number) return fail();
  if (c.Literal("年")) {
    if (*number < 1000) return fail();
    p.year = *number;
    number = c.Number(2);
    if (!number) return fail();
  }
  if (*number < 1 || *number > 12 || !c.Literal("月")) return fail();
  p.month = *number;
  const Cursor before_day = c;
  std::optional<int> day = c.Number(2);
  if (day && *day >= 1 && *day <= 31 && c.Literal("日")) {
    p.day = *day;
    c.SkipWeekday();
  } else {
    c = before_day;
  }
  return p;
}

// "D日" at the cursor: a day of an already named month.
std::optional<int> ReadDay(Cursor& c) {
  Cursor start = c;
  std::optional<int> day = c.Number(2);
  if (!day || *day < 1 || *day > 31 || !c.Literal("日")) {
    c = start;
    return std::nullopt;
  }
  c.SkipWeekday();
  return day;
}

std::optional<DateExpr> ReadDateExpr(absl::string_view text, size_t pos) {
  Cursor c(text, pos);
  std::optional<Point> start = ReadPoint(c);
  if (!start) return std::nullopt;
  DateExpr expr{*start, *start, pos, c.pos()};
  Cursor after = c;
  after.SkipSpaces();
  if (after.Literal("から") || after.Literal("~") || after.Literal("〜")) {
    after.SkipSpaces();
    if (std::optional<Point> end = ReadPoint(after)) {
      expr.end = *end;
    } else if (std::optional<int> day = ReadDay(after)) {
      expr.end.day = *day;
    } else {
      return expr;
    }
    after.SkipSpaces();
    after.Literal("まで");
    expr.finish = after.pos();
  } else if (start->day != 0 && (after.Literal("及び") || after.Literal("、"))) {
    if (std::optional<int> day = ReadDay(after)) {
      expr.end.day = *day;
      expr.finish = after.pos();
    }
  }
  return expr;
}

// Every date expression in `text`, in order.
std::vector<DateExpr> FindDates(absl::string_view text) {
  std::vector<DateExpr> out;
  for (size_t i = 0; i < text.size();) {
    if (IsDigit(text[i]) && (i == 0 || !IsDigit(text[i - 1]))) {
      if (std::optional<DateExpr> expr = ReadDateExpr(text, i)) {
        out.push_back(*expr);
        i = expr->finish;
        continue;
      }
    }
    ++i;
  }
  return out;
}

// True when `between` only joins two dates into one group.
bool JoinsDates(absl::string_view between) {
  std::string s(absl::StripAsciiWhitespace(between));
  return s.empty() || s == "、" || s == "及び" || s == "並びに" ||
         s == "ならびに" || s == "と";
}

int Participants(absl::string_view text) {
  int64_t total = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsDigit(text[i]) || (i > 0 && IsDigit(text[i - 1]))) continue;
    Cursor c(text, i);
    std::optional<int> n = c.Number(6);
    if (n && (c.Literal("名") || c.Literal("人"))) total += *n;
  }
  return static_cast<int>(std::min<int64_t>(total, kMaxParticipants));
}

v1::EventKind KindOf(absl::string_view text) {
  struct Rule {
    v1::EventKind kind;
    std::vector<absl::string_view> words;
  };
  // The first rule with a word in the text gives the kind.
  struct Rules {
    std::vector<Rule> rules;
    // (word, index of its rule) by the word's first byte, so that one pass
    // over the text finds every rule's words.
    std::array<std::vector<std::pair<absl::string_view, size_t>>, 256>
        by_first_byte;
  };
  static const Rules* kRules = [] {
    auto* r = new Rules{{
        {v1::EVENT_KIND_AGREEMENT, {"締結", "調印", "署名"}},
        {v1::EVENT_KIND_DISPATCHED, {"派遣", "渡航", "訪中", "出張"}},
        {v1::EVENT_KIND_RECEIVED,
         {"受入", "受け入れ", "招聘", "来日", "来訪", "来都", "視察対応",
          "都政説明", "施設案内"}},
        {v1::EVENT_KIND_MEETING,
         {"会談", "面会", "意見交換", "交換会", "会議", "懇談", "協議",
          "シンポジウム", "フォーラム"}},
    }, {}};
    for (size_t i = 0; i < r->rules.size(); ++i) {
      for (absl::string_view word : r->rules[i].words) {
        r->by_first_byte[static_cast<unsigned char>(word[0])].emplace_back(
            word, i);
      }
    }
    return r;
  }();
  std::vector<bool> found(kRules->rules.size(), false);
  for (size_t i = 0; i < text.size(); ++i) {
    for (const auto& [word, rule] :
         kRules->by_first_byte[static_cast<unsigned char>(text[i])]) {
      if (!found[rule] && absl::StartsWith(text.substr(i), word)) {
        found[rule] = true;
      }
    }
  }
  for (size_t i = 0; i < kRules->rules.size(); ++i) {
    if (found[i]) return kRules->rules[i].kind;
  }
  return v1::EVENT_KIND_OTHER;
}

// The clause of a group whose piece is `piece` and whose last date ends at
// `last_date_end` (an offset into `piece`): up to and with the first 。 after
// that date, else the whole piece; at most kMaxEventTextBytes, cut at a
// character boundary with an ellipsis.
std::string Clause(absl::string_view piece, size_t last_date_end) {
  constexpr absl::string_view kFullStop = "。";
  constexpr absl::string_view kEllipsis = "…";
  size_t stop = piece.find(kFullStop, last_date_end);
  absl::string_view clause = stop == absl::string_view::npos
                                 ? piece
                                 : piece.substr(0, stop + kFullStop.size());
  if (clause.size() <= kMaxEventTextBytes) return std::string(clause);
  size_t cut = kMaxEventTextBytes - kEllipsis.size();
  // Back up to the first byte of a character (item text is valid UTF-8).
  while (cut > 0 && (static_cast<unsigned char>(clause[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(absl::StripTrailingAsciiWhitespace(clause.substr(0, cut)),
                      kEllipsis);
}

void SetDate(const Point& p, int year, google::type::Date* date) {
  date->set_year(year);
  date->set_month(p.month);
  date->set_day(p.day);
}

}  // namespace

std::vector<v1::Event> ExtractEvents(absl::string_view item, int fiscal_year) {
  std::vector<DateExpr> dates = FindDates(item);
  // Group starts: indexes into `dates` where a new group begins.
  std::vector<size_t> group_starts;
  for (size_t i = 0; i < dates.size(); ++i) {
    if (i == 0 || !JoinsDates(item.substr(dates[i - 1].finish,
                                          dates[i].begin - dates[i - 1].finish))) {
      group_starts.push_back(i);
    }
  }
  auto calendar_year = [fiscal_year](int month) {
    return month >= 4 ? fiscal_year : fiscal_year + 1;
  };
  std::vector<v1::Event> events;
  for (size_t g = 0; g < group_starts.size(); ++g) {
    size_t first = group_starts[g];
    size_t last = g + 1 < group_starts.size() ? group_starts[g + 1] : dates.size();
    size_t text_begin = g == 0 ? 0 : dates[first].begin;
    size_t text_end = last < dates.size() ? dates[last].begin : item.size();
    absl::string_view piece = absl::StripAsciiWhitespace(
        item.substr(text_begin, text_end - text_begin));
    int participants = Participants(piece);
    v1::EventKind kind = KindOf(piece);
    // Where the group's last date ends, as an offset into the piece.
    const size_t piece_begin = static_cast<size_t>(piece.data() - item.data());
    const size_t last_date_end =
        std::max(dates[last - 1].finish, piece_begin) - piece_begin;
    const std::string text = Clause(piece, last_date_end);
    for (size_t i = first; i < last; ++i) {
      const DateExpr& d = dates[i];
      int start_year = d.start.year != 0 ? d.start.year
                                         : calendar_year(d.start.month);
      // The end is in the start's year, or the next when its month is
      // earlier (12月から1月).
      int end_year = d.end.year != 0
                         ? d.end.year
                         : start_year + (d.end.month < d.start.month ? 1 : 0);
      v1::Event& event = events.emplace_back();
      SetDate(d.start, start_year, event.mutable_start_date());
      SetDate(d.end, end_year, event.mutable_end_date());
      event.set_participants(participants);
      event.set_kind(kind);
      event.set_text(text);
    }
  }
  return events;
}

}  // namespace kouryu::ingest

// Fuzz target: dated activities in a results item. The first byte picks the
// fiscal year (2015..2024); the rest, if valid UTF-8, is normalized as
// ParseResults would and given to ExtractEvents. Besides the dates, checks
// that event texts are bounded clauses of the item and that the events
// together stay within kMaxEventsExpansion times the item (events.h).

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "ingest-service/events.h"

namespace {

// True when `text` writes a western year ("2019年"): then dates may be
// anywhere in time and in any order.
bool HasExplicitYear(absl::string_view text) {
  int digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      ++digits;
      continue;
    }
    if (digits >= 4 && absl::StartsWith(text.substr(i), "年")) return true;
    digits = 0;
  }
  return false;
}

// True when the event's text is a piece of the item, or one cut short
// with "…" (events.h).
bool TextInItem(absl::string_view item, absl::string_view text) {
  if (absl::StrContains(item, text)) return true;
  return absl::ConsumeSuffix(&text, "…") && absl::StrContains(item, text);
}

void CheckDate(const google::type::Date& date) {
  FUZZ_CHECK("events.month_range", date.month() >= 1 && date.month() <= 12);
  FUZZ_CHECK("events.day_range", date.day() >= 0 && date.day() <= 31);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const int fiscal_year = 2015 + data[0] % 10;
  absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!kouryu::IsValidUtf8(input)) return 0;
  const std::string item = kouryu::NormalizeText(input);

  std::vector<kouryu::v1::Event> events =
      kouryu::ingest::ExtractEvents(item, fiscal_year);
  const bool explicit_year = HasExplicitYear(item);
  // What an item may become (events.h): each text a bounded clause, all
  // events together a fixed multiple of the item.
  size_t events_bytes = 0;
  for (const kouryu::v1::Event& event : events) {
    events_bytes += event.ByteSizeLong();
    FUZZ_CHECK("events.text_bounded",
               event.text().size() <= kouryu::ingest::kMaxEventTextBytes);
    FUZZ_CHECK("events.text_in_item", TextInItem(item, event.text()));
  }
  FUZZ_CHECK("events.output_size",
             events_bytes <= kouryu::ingest::kMaxEventsExpansion * item.size());
  for (const kouryu::v1::Event& event : events) {
    FUZZ_CHECK("events.has_start", event.has_start_date());
    CheckDate(event.start_date());
    if (event.has_end_date()) CheckDate(event.end_date());
    FUZZ_CHECK("events.participants", event.participants() >= 0);
    if (explicit_year) continue;
    const int start_year = event.start_date().year();
    FUZZ_CHECK("events.start_year",
               start_year >= fiscal_year && start_year <= fiscal_year + 1);
    if (event.has_end_date()) {
      // "An end month earlier than the start month falls in the following
      // year" (events.h): a range never ends in a month before it starts.
      const auto& s = event.start_date();
      const auto& e = event.end_date();
      FUZZ_CHECK("events.end_before_start",
                 std::make_tuple(e.year(), e.month()) >=
                     std::make_tuple(s.year(), s.month()));
    }
  }
  return 0;
}

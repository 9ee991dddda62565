#ifndef KOURYU_INGEST_SERVICE_EVENTS_H_
#define KOURYU_INGEST_SERVICE_EVENTS_H_

// Finds the dated activities in a results item and turns each into an
// Event. Input is one item of ParseResults (NFKC-normalized text).
//
// Dates. A date expression is, with optional weekday notes in parentheses
// after any day ("10月22日(火・祝)"):
//   M月D日                      one day
//   M月D日からD日[まで]           a range within the month (6月17日から19日)
//   M月D日からM月D日[まで]        a range across months (10月22日から12月1日まで)
//   M月D日及びD日, M月D日、D日    two days of one month: start and end
//   M月                          a month without a day ("6月、", "11月北京市
//                                ..."); day is 0
// "～" and "〜" count as から. A western year written before the month
// (2019年4月1日) is used as given; otherwise the calendar year follows from
// the fiscal year: April–December are in the fiscal year, January–March in
// the next calendar year (FY2019: 4月 → 2019-04, 1月 → 2020-01), for the
// start of a range. The end is in the start's year, or in the following
// year when its month is earlier than the start's (12月から1月).
// Numbers of months 1–12 and days 1–31 only; "N月" directly after a digit,
// "ヶ月", "か月" and "カ月" are not dates.
//
// Events. Date expressions joined only by 、, 及び, 並びに, ならびに, と or
// whitespace form one group; each date expression of a group becomes one
// Event with the same text. An item with several groups is split at the
// start of each group after the first; the text before the first group
// belongs to the first piece.
//
// Text: the clause of the event's group, which its events share: the piece
// (trimmed) up to and with the first 。 after the group's last date, or the
// whole piece when no 。 follows; at most kMaxEventTextBytes, longer clauses
// cut at a character and ended with "…". So a record's events stay a fixed
// multiple of its text (kMaxEventsExpansion).
//
// Participants: the sum of every "N名" and "N人" (also 各N名/各N人, counted
// as N; N up to six digits) in the piece's text, at most 10,000,000; 0 when
// there is none.
//
// Kind, from the piece's text (all of it, past the clause), first match wins:
//   EVENT_KIND_AGREEMENT   締結, 調印, 署名
//   EVENT_KIND_DISPATCHED  派遣, 渡航, 訪中, 出張
//   EVENT_KIND_RECEIVED    受入, 受け入れ, 招聘, 来日, 来訪, 来都, 視察対応,
//                          都政説明, 施設案内
//   EVENT_KIND_MEETING     会談, 面会, 意見交換, 交換会, 会議, 懇談,
//                          協議, シンポジウム, フォーラム
//   EVENT_KIND_OTHER       otherwise

#include <cstddef>
#include <vector>

#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::ingest {

// Largest event text, in bytes of UTF-8 (an ellipsis included).
inline constexpr size_t kMaxEventTextBytes = 384;
// The serialized events of an item are at most this many times the item's
// size: each event is a date expression of at least 4 bytes ("4月"), and
// takes at most kMaxEventTextBytes of text and 40 bytes of dates, kind and
// participants.
inline constexpr size_t kMaxEventsExpansion = (kMaxEventTextBytes + 40) / 4;

// Events of `item` for a record of `fiscal_year`, in text order.
std::vector<v1::Event> ExtractEvents(absl::string_view item, int fiscal_year);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_EVENTS_H_

#include "query-service/list_records.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/coding.h"
#include "common/keys.h"
#include "common/quote.h"
#include "common/status.h"
#include "query-service/page_token.h"
#include "query-service/record_wire.h"

namespace kouryu::query {
namespace {

constexpr int kDefaultPageSize = 50;

absl::StatusOr<Order> ParseOrder(absl::string_view text) {
  std::vector<absl::string_view> words =
      absl::StrSplit(text, ' ', absl::SkipWhitespace());
  Order order;
  if (words.empty()) return order;
  auto bad = [&](absl::string_view why) {
    return BadField("INVALID_ORDER_BY", "order_by",
                    absl::StrCat(QuoteValue(text), ": ", why));
  };
  if (words.size() > 2) return bad("one field, then asc or desc");
  if (words[0] == "fiscal_year") {
    order.field = Order::Field::kFiscalYear;
  } else if (words[0] == "update_time") {
    order.field = Order::Field::kUpdateTime;
  } else if (words[0] == "title") {
    order.field = Order::Field::kTitle;
  } else if (words[0] != "name") {
    return bad("fields are fiscal_year, update_time, title and name");
  }
  if (words.size() == 2) {
    if (words[1] == "desc") {
      order.descending = true;
    } else if (words[1] != "asc") {
      return bad("the direction is asc or desc");
    }
  }
  return order;
}

// A string that sorts as the record sorts under `order` (ascending).
std::string SortKey(const Order& order, const v1::Record& record) {
  switch (order.field) {
    case Order::Field::kFiscalYear:
      return EncodeFixed64BigEndian(static_cast<uint64_t>(record.fiscal_year()) +
                                    (1ULL << 32));
    case Order::Field::kUpdateTime: {
      std::string key = EncodeFixed64BigEndian(
          static_cast<uint64_t>(record.update_time().seconds()) + (1ULL << 62));
      PutFixed64BigEndian(key, static_cast<uint64_t>(record.update_time().nanos()));
      return key;
    }
    case Order::Field::kTitle:
      return record.title();
    case Order::Field::kName:
      return "";
  }
  return "";
}

// The position after which a page starts: a sort key and a scan key.
std::string Position(absl::string_view sort_key, absl::string_view key) {
  std::string out;
  AppendKeyComponent(out, sort_key);
  out.append(key.data(), key.size());
  return out;
}

// The records column family key of a record (scan keys of
// cities/-/bureaus/{b} are index keys instead).
std::string RecordKeyOf(const v1::Record& record) {
  absl::StatusOr<RecordName> name = ParseRecordName(record.name());
  return name.ok() ? RecordKey(*name) : std::string();
}

// A response being built: its records field entries, then the other
// fields as a message of their own (record_wire.h).
struct ResponseBytes {
  std::string records;
  v1::ListRecordsResponse rest;

  std::string Finish() && {
    rest.AppendToString(&records);
    return std::move(records);
  }
};

// A stored record parsed for the filter; false (and `failed` set) when it
// does not parse.
bool MatchesStored(const Filter& filter, absl::string_view bytes, bool& matches,
                   absl::Status& failed) {
  v1::Record record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    failed = StorageCorrupted("record");
    return false;
  }
  matches = filter.Matches(record);
  return true;
}

// The scan of `plan.parent` in name order, forwards or (desc) backwards.
absl::Status ScanInNameOrder(
    const Replica& replica, const ListPlan& plan, const std::string& after,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
        visit) {
  return plan.order.descending
             ? replica.ForEachBytesReverse(plan.parent, after, visit)
             : replica.ForEachBytes(plan.parent, after, visit);
}

// The matches of a filter up to and including `plan.after`, which the page
// that starts after it does not see.
absl::StatusOr<int64_t> CountBefore(const Replica& replica,
                                    const ListPlan& plan) {
  const std::string& after = plan.after;
  int64_t before = 0;
  absl::Status failed;
  absl::Status status = ScanInNameOrder(
      replica, plan, "", [&](absl::string_view key, absl::string_view bytes) {
        if (plan.order.descending ? key < after : key > after) return false;
        bool matches = false;
        if (!MatchesStored(plan.filter, bytes, matches, failed)) return false;
        if (matches) ++before;
        return true;
      });
  if (status.ok()) status = failed;
  if (!status.ok()) return status;
  return before;
}

absl::StatusOr<std::string> ListInNameOrder(const Replica& replica,
                                            const ListPlan& plan, size_t budget,
                                            const CancelledFn& cancelled) {
  // Without a filter the count is maintained, so the scan stops one past
  // the page.
  const bool count_by_scan = !plan.filter.empty();
  ResponseBytes out;
  std::string& records = out.records;
  size_t on_page = 0;
  int64_t total = 0;
  std::string last_key;
  bool more = false;
  bool full = false;  // The next record would pass the byte budget.
  absl::Status failed;
  int64_t visited = 0;
  absl::Status status = ScanInNameOrder(
      replica, plan, plan.after,
      [&](absl::string_view key, absl::string_view bytes) {
        if ((++visited & 1023) == 0 && cancelled()) return false;
        if (count_by_scan) {
          bool matches = false;
          if (!MatchesStored(plan.filter, bytes, matches, failed)) return false;
          if (!matches) return true;
        }
        if (on_page == plan.page_size || full) {
          more = true;
          if (!count_by_scan) return false;
          ++total;
          return true;
        }
        ++total;
        const size_t mark = records.size();
        if (!AppendRecordField(plan.view, bytes, records)) {
          failed = StorageCorrupted("record");
          return false;
        }
        if (records.size() > budget) {
          if (on_page == 0) {
            failed = TooLarge(NameOfStored(bytes), records.size(), budget);
            return false;
          }
          records.resize(mark);  // This record starts the next page.
          full = more = true;
          return count_by_scan;
        }
        ++on_page;
        last_key.assign(key.data(), key.size());
        return true;
      });
  // What the scan stopped for, if not its end.
  if (status.ok()) status = failed;
  if (status.ok() && cancelled()) status = Cancelled();
  if (!status.ok()) return status;
  if (!count_by_scan) {
    absl::StatusOr<int64_t> count = replica.Count(plan.parent);
    if (!count.ok()) return count.status();
    total = *count;
  } else if (!plan.after.empty()) {
    absl::StatusOr<int64_t> before = CountBefore(replica, plan);
    if (!before.ok()) return before.status();
    total += *before;
  }
  if (more) {
    out.rest.set_next_page_token(EncodePageToken(plan.fingerprint, last_key));
  }
  out.rest.set_total_size(static_cast<int32_t>(total));
  return std::move(out).Finish();
}

absl::StatusOr<std::string> ListSorted(const Replica& replica,
                                       const ListPlan& plan, size_t budget,
                                       const CancelledFn& cancelled) {
  std::vector<std::pair<std::string, std::string>> matches;  // position, key
  absl::Status status = replica.ForEach(
      plan.parent, "", [&](const std::string& key, v1::Record& record) {
        if ((matches.size() & 1023) == 0 && cancelled()) return false;
        if (plan.filter.Matches(record)) {
          // Positions use the scan key (unique within the parent); the
          // record is fetched by its own key.
          matches.emplace_back(Position(SortKey(plan.order, record), key),
                               RecordKeyOf(record));
        }
        return true;
      });
  if (status.ok() && cancelled()) status = Cancelled();
  if (!status.ok()) return status;
  auto before = [&](const std::string& a, const std::string& b) {
    return plan.order.descending ? a > b : a < b;
  };
  std::sort(matches.begin(), matches.end(), [&](const auto& a, const auto& b) {
    return before(a.first, b.first);
  });
  size_t start = 0;
  if (!plan.after.empty()) {
    start = std::upper_bound(matches.begin(), matches.end(), plan.after,
                             [&](const std::string& value, const auto& m) {
                               return before(value, m.first);
                             }) -
            matches.begin();
  }
  ResponseBytes out;
  size_t end = std::min(matches.size(), start + plan.page_size);
  for (size_t i = start; i < end; ++i) {
    absl::StatusOr<std::string> record = replica.GetBytes(matches[i].second);
    if (!record.ok()) return record.status();
    const size_t mark = out.records.size();
    if (!AppendRecordField(plan.view, *record, out.records)) {
      return StorageCorrupted("record");
    }
    if (out.records.size() > budget) {
      if (i == start) {
        return TooLarge(NameOfStored(*record), out.records.size(), budget);
      }
      out.records.resize(mark);  // This record starts the next page.
      end = i;
    }
  }
  if (end < matches.size()) {
    out.rest.set_next_page_token(
        EncodePageToken(plan.fingerprint, matches[end - 1].first));
  }
  out.rest.set_total_size(static_cast<int32_t>(matches.size()));
  return std::move(out).Finish();
}

}  // namespace

absl::StatusOr<ListPlan> PlanList(const v1::ListRecordsRequest& request) {
  absl::StatusOr<Parent> parent = ParseParentField(request.parent());
  if (!parent.ok()) return parent.status();
  absl::StatusOr<Filter> filter = Filter::Parse(request.filter());
  if (!filter.ok()) return filter.status();
  absl::StatusOr<Order> order = ParseOrder(request.order_by());
  if (!order.ok()) return order.status();
  absl::StatusOr<int> page_size =
      PageSize(request.page_size(), kDefaultPageSize);
  if (!page_size.ok()) return page_size.status();
  const uint64_t fingerprint = RequestFingerprint(
      request.parent(), request.filter(), request.order_by());
  absl::StatusOr<std::string> after =
      DecodePageToken(request.page_token(), fingerprint);
  if (!after.ok()) return after.status();
  return ListPlan{*std::move(parent),
                  *std::move(filter),
                  *order,
                  request.view(),
                  static_cast<size_t>(*page_size),
                  fingerprint,
                  *std::move(after)};
}

absl::StatusOr<std::string> ListRecordsPage(const Replica& replica,
                                            const ListPlan& plan,
                                            size_t max_response_bytes,
                                            const CancelledFn& cancelled) {
  const size_t budget = RecordBudget(max_response_bytes);
  return plan.order.field == Order::Field::kName
             ? ListInNameOrder(replica, plan, budget, cancelled)
             : ListSorted(replica, plan, budget, cancelled);
}

}  // namespace kouryu::query

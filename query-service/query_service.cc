#include "query-service/query_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/keys.h"
#include "common/quote.h"
#include "common/request.h"
#include "common/status.h"
#include "common/text.h"
#include "query-service/filter.h"
#include "query-service/page_token.h"
#include "query-service/search.h"
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kDefaultSearchPageSize = 20;
constexpr int kDefaultNamesPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxQueryBytes = 1000;

absl::Status BadField(absl::string_view reason, absl::string_view field,
                      absl::string_view description) {
  return InvalidArgumentError(reason, description,
                              {{std::string(field), std::string(description)}});
}

// Clears what the BASIC view leaves out.
void ApplyView(v1::RecordView view, v1::Record& record) {
  if (view == v1::RECORD_VIEW_FULL) return;
  record.clear_sections();
  record.clear_events();
  record.clear_source_html();
}

absl::StatusOr<int> PageSize(int requested, int default_size) {
  if (requested < 0) {
    return BadField("INVALID_PAGE_SIZE", "page_size",
                    absl::StrCat("page_size ", requested, " is negative"));
  }
  return requested == 0 ? default_size : std::min(requested, kMaxPageSize);
}

absl::StatusOr<Parent> ParseParentField(const std::string& parent) {
  absl::StatusOr<Parent> parsed = ParseParent(parent.empty() ? "cities/-" : parent);
  if (!parsed.ok()) {
    return BadField("INVALID_PARENT", "parent", parsed.status().message());
  }
  return parsed;
}

// order_by: one field, optionally "asc" or "desc".
struct Order {
  enum class Field { kName, kFiscalYear, kUpdateTime, kTitle } field;
  bool descending = false;
};

absl::StatusOr<Order> ParseOrder(absl::string_view text) {
  std::vector<absl::string_view> words =
      absl::StrSplit(text, ' ', absl::SkipWhitespace());
  Order order{Order::Field::kName};
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
      return SequenceKey(static_cast<uint64_t>(record.fiscal_year()) + (1ULL << 32));
    case Order::Field::kUpdateTime:
      return SequenceKey(static_cast<uint64_t>(record.update_time().seconds()) +
                         (1ULL << 62)) +
             SequenceKey(static_cast<uint64_t>(record.update_time().nanos()));
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

// Room left in a list or search response for its fields other than the
// records (next_page_token, total_size).
constexpr size_t kResponseReserve = 4096;

size_t RecordBudget(size_t max_response_bytes) {
  return max_response_bytes > 2 * kResponseReserve
             ? max_response_bytes - kResponseReserve
             : max_response_bytes / 2;
}

// The name of a stored record (for messages).
std::string NameOfStored(absl::string_view bytes) {
  v1::Record record;
  record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  return record.name();
}

// One record alone is more than a response may carry.
absl::Status TooLarge(absl::string_view name, size_t bytes, size_t limit) {
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "record ", name.substr(0, 200), " takes ", bytes,
          " bytes in this view; a response carries at most ", limit)),
      "RESPONSE_TOO_LARGE");
}

absl::Status Cancelled() {
  return absl::Status(absl::StatusCode::kDeadlineExceeded,
                      "the call was cancelled or its deadline passed");
}

// Parses a raw callback method's request; MALFORMED_REQUEST naming the
// field when it does not parse.
grpc::Status ParseRequest(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& request) {
  return ToGrpcStatus(kouryu::ParseRequest(bytes, request));
}

void SetResponse(absl::string_view bytes, grpc::ByteBuffer& response) {
  grpc::Slice slice(bytes.data(), bytes.size());
  response = grpc::ByteBuffer(&slice, 1);
}

void AppendVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Appends a stored record as field 1 (`records`) of a list response, with
// only the fields `view` shows. Copies the record's fields as they are,
// without parsing and re-serializing them; false if they do not parse.
bool AppendRecord(v1::RecordView view, absl::string_view record, std::string& out) {
  static_assert(v1::ListRecordsResponse::kRecordsFieldNumber == 1 &&
                v1::SearchResult::kRecordFieldNumber == 1);
  constexpr char kRecordsTag = (1 << 3) | 2;  // field 1, length-delimited
  out.push_back(kRecordsTag);
  if (view == v1::RECORD_VIEW_FULL) {
    AppendVarint(record.size(), out);
    out.append(record.data(), record.size());
    return true;
  }
  std::string basic;
  basic.reserve(record.size());
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(record.data()), static_cast<int>(record.size()));
  for (;;) {
    const int begin = input.CurrentPosition();
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;
    if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) {
      return false;
    }
    switch (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag)) {
      case v1::Record::kSectionsFieldNumber:
      case v1::Record::kEventsFieldNumber:
      case v1::Record::kSourceHtmlFieldNumber:
        continue;  // FULL only
    }
    basic.append(record.data() + begin, input.CurrentPosition() - begin);
  }
  if (input.CurrentPosition() != static_cast<int>(record.size())) return false;
  AppendVarint(basic.size(), out);
  out.append(basic);
  return true;
}

}  // namespace

// A validated ListRecords request.
struct QueryServiceImpl::ListPlan {
  Parent parent;
  Filter filter;
  Order order;
  int page_size;
  uint64_t fingerprint;
  std::string after;  // the page token's position
};

absl::StatusOr<QueryServiceImpl::ListPlan> QueryServiceImpl::PlanList(
    const v1::ListRecordsRequest& request) {
  absl::StatusOr<Parent> parent = ParseParentField(request.parent());
  if (!parent.ok()) return parent.status();
  absl::StatusOr<Filter> filter = Filter::Parse(request.filter());
  if (!filter.ok()) return filter.status();
  absl::StatusOr<Order> order = ParseOrder(request.order_by());
  if (!order.ok()) return order.status();
  absl::StatusOr<int> page_size = PageSize(request.page_size(), kDefaultPageSize);
  if (!page_size.ok()) return page_size.status();
  const uint64_t fingerprint = RequestFingerprint(
      request.parent(), request.filter(), request.order_by());
  absl::StatusOr<std::string> after =
      DecodePageToken(request.page_token(), fingerprint);
  if (!after.ok()) return after.status();
  return ListPlan{*std::move(parent), *std::move(filter), *order, *page_size,
                  fingerprint, *std::move(after)};
}

absl::Status QueryServiceImpl::ResolveNames(const Parent& parent,
                                            Filter& filter) const {
  if (absl::Status known = names_.CheckParent(parent); !known.ok()) {
    return known;
  }
  absl::StatusOr<Filter> resolved = filter.Resolve(names_);
  if (!resolved.ok()) return resolved.status();
  filter = *std::move(resolved);
  return absl::OkStatus();
}

absl::Status QueryServiceImpl::AwaitSequence(grpc::ServerContext* context,
                                             uint64_t min_sequence) const {
  if (min_sequence == 0) return absl::OkStatus();
  absl::Time deadline = absl::Now() + options_.max_sequence_wait;
  absl::Time call_deadline = absl::FromChrono(context->deadline());
  return replica_.WaitForSequence(min_sequence,
                                  std::min(deadline, call_deadline));
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetRecord(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::GetRecordRequest request;
  if (grpc::Status parsed = ParseRequest(*request_bytes, request); !parsed.ok()) {
    reactor->Finish(parsed);
    return reactor;
  }
  absl::StatusOr<RecordName> name = ParseRecordName(request.name());
  if (!name.ok()) {
    reactor->Finish(ToGrpcStatus(
        BadField("INVALID_NAME", "name", name.status().message())));
    return reactor;
  }
  // One point read: cheap enough for gRPC's thread.
  Answer(context, reactor, request.min_sequence(), /*cheap=*/true,
         [this, key = RecordKey(*name), response]() {
           absl::StatusOr<std::string> record = replica_.GetBytes(key);
           if (!record.ok()) return ToGrpcStatus(record.status());
           SetResponse(*record, *response);
           return grpc::Status::OK;
         });
  return reactor;
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListRecords(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto request = std::make_unique<v1::ListRecordsRequest>();
  if (grpc::Status parsed = ParseRequest(*request_bytes, *request); !parsed.ok()) {
    reactor->Finish(parsed);
    return reactor;
  }
  absl::StatusOr<ListPlan> plan = PlanList(*request);
  if (!plan.ok()) {
    reactor->Finish(ToGrpcStatus(plan.status()));
    return reactor;
  }
  // A page in key order without a filter reads one page and the maintained
  // count; anything else may scan the whole parent.
  const bool cheap =
      plan->filter.empty() && plan->order.field == Order::Field::kName;
  const uint64_t min_sequence = request->min_sequence();
  Answer(context, reactor, min_sequence, cheap,
         [this, context, request = std::move(request), plan = *std::move(plan),
          response]() mutable {
           if (absl::Status resolved = ResolveNames(plan.parent, plan.filter);
               !resolved.ok()) {
             return ToGrpcStatus(resolved);
           }
           absl::StatusOr<std::string> answer =
               ListRecordsBytes(*context, *request, plan);
           if (!answer.ok()) return ToGrpcStatus(answer.status());
           SetResponse(*answer, *response);
           return grpc::Status::OK;
         });
  return reactor;
}

void QueryServiceImpl::Answer(grpc::CallbackServerContext* context,
                              grpc::ServerUnaryReactor* reactor,
                              uint64_t min_sequence, bool cheap,
                              absl::AnyInvocable<grpc::Status() &&> answer) {
  if (min_sequence == 0 || replica_.applied_sequence() >= min_sequence) {
    if (cheap) {
      reactor->Finish(std::move(answer)());
    } else {
      runner_.Run([reactor, answer = std::move(answer)]() mutable {
        reactor->Finish(std::move(answer)());
      });
    }
    return;
  }
  const absl::Time deadline =
      std::min(absl::Now() + options_.max_sequence_wait,
               absl::FromChrono(context->deadline()));
  runner_.RunAt(min_sequence, deadline,
                [reactor, answer = std::move(answer)](absl::Status waited) mutable {
                  reactor->Finish(waited.ok() ? std::move(answer)()
                                              : ToGrpcStatus(waited));
                });
}

absl::StatusOr<std::string> QueryServiceImpl::ListRecordsBytes(
    const grpc::ServerContextBase& context, const v1::ListRecordsRequest& request,
    const ListPlan& plan) const {
  const Filter& filter = plan.filter;
  const Order& order = plan.order;
  const size_t page_size = static_cast<size_t>(plan.page_size);
  const std::string& after = plan.after;
  const size_t budget = RecordBudget(options_.max_response_bytes);
  // The response: its records field entries, then a message with the
  // other fields appended (a serialized message is the concatenation of
  // its fields).
  std::string out;
  size_t records = 0;
  v1::ListRecordsResponse rest;
  int64_t total = 0;
  absl::Status status;
  if (order.field == Order::Field::kName) {
    // Scan order (reversed for desc): the page starts after the token's
    // key. Without a filter the count is maintained, so the scan stops one
    // past the page.
    const bool count_by_scan = !filter.empty();
    std::string last_key;
    bool more = false;
    bool full = false;  // The next record would pass the byte budget.
    absl::Status failed;
    int64_t visited = 0;
    const auto scan = order.descending ? &Replica::ForEachBytesReverse
                                       : &Replica::ForEachBytes;
    status = (replica_.*scan)(
        plan.parent, after,
        [&](absl::string_view key, absl::string_view bytes) {
          if ((++visited & 1023) == 0 && context.IsCancelled()) return false;
          if (count_by_scan) {
            v1::Record record;
            if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
              failed = StorageCorrupted("record");
              return false;
            }
            if (!filter.Matches(record)) return true;
          }
          if (records == page_size || full) {
            more = true;
            if (!count_by_scan) return false;
            ++total;
            return true;
          }
          ++total;
          const size_t mark = out.size();
          if (!AppendRecord(request.view(), bytes, out)) {
            failed = StorageCorrupted("record");
            return false;
          }
          if (out.size() > budget) {
            if (records == 0) {
              failed = TooLarge(NameOfStored(bytes), out.size(), budget);
              return false;
            }
            out.resize(mark);  // This record starts the next page.
            full = more = true;
            return count_by_scan;
          }
          ++records;
          last_key.assign(key.data(), key.size());
          return true;
        });
    // What the scan stopped for, if not its end.
    if (status.ok()) status = failed;
    if (status.ok() && context.IsCancelled()) status = Cancelled();
    if (!status.ok()) return status;
    if (count_by_scan) {
      // Matches before the page start count too.
      if (!after.empty()) {
        int64_t before = 0;
        status = (replica_.*scan)(
            plan.parent, "",
            [&](absl::string_view key, absl::string_view bytes) {
              // The page starts after `after`: count up to and including it.
              if (order.descending ? key < after : key > after) return false;
              v1::Record record;
              if (!record.ParseFromArray(bytes.data(),
                                         static_cast<int>(bytes.size()))) {
                failed = StorageCorrupted("record");
                return false;
              }
              if (filter.Matches(record)) ++before;
              return true;
            });
        if (status.ok()) status = failed;
        if (!status.ok()) return status;
        total += before;
      }
    } else {
      absl::StatusOr<int64_t> count = replica_.Count(plan.parent);
      if (!count.ok()) return count.status();
      total = *count;
    }
    if (more) rest.set_next_page_token(EncodePageToken(plan.fingerprint, last_key));
  } else {
    // Sorted order: collect the positions of every match, sort, and page
    // after the token's position.
    std::vector<std::pair<std::string, std::string>> matches;  // position, key
    status = replica_.ForEach(
        plan.parent, "", [&](const std::string& key, v1::Record& record) {
          if ((matches.size() & 1023) == 0 && context.IsCancelled()) return false;
          if (filter.Matches(record)) {
            // Positions use the scan key (unique within the parent); the
            // record is fetched by its own key.
            matches.emplace_back(Position(SortKey(order, record), key),
                                 RecordKeyOf(record));
          }
          return true;
        });
    if (status.ok() && context.IsCancelled()) status = Cancelled();
    if (!status.ok()) return status;
    auto before = [&](const std::string& a, const std::string& b) {
      return order.descending ? a > b : a < b;
    };
    std::sort(matches.begin(), matches.end(),
              [&](const auto& a, const auto& b) { return before(a.first, b.first); });
    total = static_cast<int64_t>(matches.size());
    size_t start = 0;
    if (!after.empty()) {
      start = std::upper_bound(matches.begin(), matches.end(), after,
                               [&](const std::string& value, const auto& m) {
                                 return before(value, m.first);
                               }) -
              matches.begin();
    }
    size_t end = std::min(matches.size(), start + page_size);
    for (size_t i = start; i < end; ++i) {
      absl::StatusOr<std::string> record = replica_.GetBytes(matches[i].second);
      if (!record.ok()) return record.status();
      const size_t mark = out.size();
      if (!AppendRecord(request.view(), *record, out)) return StorageCorrupted("record");
      if (out.size() > budget) {
        if (i == start) {
          return TooLarge(NameOfStored(*record), out.size(), budget);
        }
        out.resize(mark);  // This record starts the next page.
        end = i;
      }
    }
    if (end < matches.size()) {
      rest.set_next_page_token(
          EncodePageToken(plan.fingerprint, matches[end - 1].first));
    }
  }
  rest.set_total_size(static_cast<int32_t>(total));
  rest.AppendToString(&out);
  return out;
}

grpc::Status QueryServiceImpl::SearchRecords(
    grpc::ServerContext* context, const v1::SearchRecordsRequest* request,
    v1::SearchRecordsResponse* response) {
  if (request->query().size() > kMaxQueryBytes) {
    return ToGrpcStatus(BadField(
        "INVALID_QUERY", "query",
        absl::StrCat("the query is ", request->query().size(),
                     " bytes; at most ", kMaxQueryBytes, " are accepted")));
  }
  const std::string query = FoldForSearch(request->query());
  if (query.empty()) {
    return ToGrpcStatus(BadField("INVALID_QUERY", "query", "query is required"));
  }
  absl::StatusOr<Parent> parent = ParseParentField(request->parent());
  if (!parent.ok()) return ToGrpcStatus(parent.status());
  absl::StatusOr<Filter> filter = Filter::Parse(request->filter());
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  absl::StatusOr<int> page_size =
      PageSize(request->page_size(), kDefaultSearchPageSize);
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  const uint64_t fingerprint = RequestFingerprint(
      absl::StrCat(request->parent(), "\x1f", query), request->filter(), "");
  absl::StatusOr<std::string> after =
      DecodePageToken(request->page_token(), fingerprint);
  if (!after.ok()) return ToGrpcStatus(after.status());
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  if (absl::Status resolved = ResolveNames(*parent, *filter); !resolved.ok()) {
    return ToGrpcStatus(resolved);
  }

  std::unique_ptr<Replica::SearchReader> reader = replica_.NewSearchReader();
  SearchSpec spec;
  spec.folded_query = query;
  spec.parent = *parent;
  spec.filter = &*filter;
  spec.after = *after;
  spec.page_size = static_cast<size_t>(*page_size);
  absl::StatusOr<SearchPage> page =
      Search(*reader, spec, [context] { return context->IsCancelled(); });
  if (absl::IsCancelled(page.status())) return ToGrpcStatus(Cancelled());
  if (!page.ok()) return ToGrpcStatus(page.status());

  v1::RecordView view = request->view() == v1::RECORD_VIEW_UNSPECIFIED
                            ? v1::RECORD_VIEW_BASIC
                            : request->view();
  const size_t budget = RecordBudget(options_.max_response_bytes);
  size_t bytes = 0;
  bool more = page->more;
  const std::string* last_position = nullptr;
  for (const SearchHit& hit : page->hits) {
    absl::StatusOr<v1::Record> record = reader->GetByKey(hit.key);
    if (!record.ok()) return ToGrpcStatus(record.status());
    v1::SearchResult* result = response->add_results();
    result->set_score(hit.score);
    result->set_snippet(Snippet(*record, query));
    ApplyView(view, *record);
    *result->mutable_record() = *std::move(record);
    constexpr size_t kFieldOverhead = 6;  // tag + length varint
    const size_t size = result->ByteSizeLong() + kFieldOverhead;
    if (bytes + size > budget) {
      if (response->results_size() == 1) {
        return ToGrpcStatus(TooLarge(result->record().name(), size, budget));
      }
      // This result starts the next page.
      response->mutable_results()->RemoveLast();
      more = true;
      break;
    }
    bytes += size;
    last_position = &hit.position;
  }
  if (more && last_position != nullptr) {
    response->set_next_page_token(
        EncodePageToken(fingerprint, *last_position));
  }
  response->set_total_size(
      static_cast<int32_t>(std::min<int64_t>(page->total, INT32_MAX)));
  response->set_total_size_estimated(page->estimated);
  return grpc::Status::OK;
}

namespace {

// Pages through `items` (sorted by ID) after the token's ID; `id_of` gives
// an item's ID and `add` puts one in the response.
template <typename Item, typename Response, typename IdOf, typename Add>
void PageById(const std::vector<Item>& items, int page_size,
                      const std::string& after, uint64_t fingerprint,
                      IdOf id_of, Add add, Response* response) {
  int added = 0;
  std::string last;
  for (const Item& item : items) {
    const std::string& id = id_of(item);
    if (id <= after) continue;
    if (added == page_size) {
      response->set_next_page_token(EncodePageToken(fingerprint, last));
      break;
    }
    add(item);
    last = id;
    ++added;
  }
}

}  // namespace

grpc::Status QueryServiceImpl::ListCities(grpc::ServerContext* context,
                                          const v1::ListCitiesRequest* request,
                                          v1::ListCitiesResponse* response) {
  absl::StatusOr<int> page_size =
      PageSize(request->page_size(), kDefaultNamesPageSize);
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  const uint64_t fingerprint = RequestFingerprint("cities", "", "");
  absl::StatusOr<std::string> after =
      DecodePageToken(request->page_token(), fingerprint);
  if (!after.ok()) return ToGrpcStatus(after.status());
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  PageById(
      replica_.Cities(), *page_size, *after, fingerprint,
      [](const CityCount& c) -> const std::string& { return c.city.id(); },
      [response](const CityCount& c) {
        v1::CityCount* out = response->add_cities();
        *out->mutable_city() = c.city;
        out->set_record_count(static_cast<int32_t>(c.records));
      },
      response);
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::ListBureaus(grpc::ServerContext* context,
                                           const v1::ListBureausRequest* request,
                                           v1::ListBureausResponse* response) {
  absl::StatusOr<int> page_size =
      PageSize(request->page_size(), kDefaultNamesPageSize);
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  const uint64_t fingerprint = RequestFingerprint("bureaus", "", "");
  absl::StatusOr<std::string> after =
      DecodePageToken(request->page_token(), fingerprint);
  if (!after.ok()) return ToGrpcStatus(after.status());
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  PageById(
      replica_.Bureaus(), *page_size, *after, fingerprint,
      [](const BureauCount& b) -> const std::string& { return b.bureau.id(); },
      [response](const BureauCount& b) {
        v1::BureauCount* out = response->add_bureaus();
        *out->mutable_bureau() = b.bureau;
        out->set_record_count(static_cast<int32_t>(b.records));
      },
      response);
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::SummarizeRecords(
    grpc::ServerContext* context, const v1::SummarizeRecordsRequest* request,
    v1::SummarizeRecordsResponse* response) {
  absl::StatusOr<Parent> parent = ParseParentField(request->parent());
  if (!parent.ok()) return ToGrpcStatus(parent.status());
  absl::StatusOr<Filter> filter = Filter::Parse(request->filter());
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  enum class Key { kCity, kBureau, kFiscalYear, kCategory };
  std::vector<Key> keys;
  for (int i = 0; i < request->group_by_size(); ++i) {
    const std::string& field = request->group_by(i);
    std::optional<Key> key;
    if (field == "city") key = Key::kCity;
    if (field == "bureau") key = Key::kBureau;
    if (field == "fiscal_year") key = Key::kFiscalYear;
    if (field == "category") key = Key::kCategory;
    std::string path = absl::StrCat("group_by[", i, "]");
    if (!key) {
      return ToGrpcStatus(BadField(
          "INVALID_GROUP_BY", path,
          absl::StrCat(QuoteValue(field),
                       " is not one of city, bureau, fiscal_year, category")));
    }
    if (std::find(keys.begin(), keys.end(), *key) != keys.end()) {
      return ToGrpcStatus(
          BadField("INVALID_GROUP_BY", path,
                   absl::StrCat(QuoteValue(field), " appears twice")));
    }
    keys.push_back(*key);
  }
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  if (absl::Status resolved = ResolveNames(*parent, *filter); !resolved.ok()) {
    return ToGrpcStatus(resolved);
  }

  struct Totals {
    int64_t records = 0;
    int64_t participants = 0;
  };
  std::map<std::vector<std::string>, Totals> groups;
  int64_t total = 0;
  absl::Status status = replica_.ForEach(
      *parent, "", [&](const std::string& key, v1::Record& record) {
        if ((total & 1023) == 0 && context->IsCancelled()) return false;
        if (!filter->Matches(record)) return true;
        ++total;
        std::vector<std::string> group;
        for (Key k : keys) {
          switch (k) {
            case Key::kCity: group.push_back(record.city().id()); break;
            case Key::kBureau: group.push_back(record.bureau().id()); break;
            case Key::kFiscalYear:
              group.push_back(absl::StrCat(record.fiscal_year()));
              break;
            case Key::kCategory:
              group.push_back(v1::Category_Name(record.category()));
              break;
          }
        }
        Totals& t = groups[group];
        ++t.records;
        // With an event_date condition, only the events that meet it.
        for (int i = 0; i < record.events_size(); ++i) {
          if (!filter->has_event_date() || filter->MatchesEvent(record, i)) {
            t.participants += record.events(i).participants();
          }
        }
        return true;
      });
  if (status.ok() && context->IsCancelled()) status = Cancelled();
  if (!status.ok()) return ToGrpcStatus(status);
  for (const auto& [group, totals] : groups) {
    v1::SummaryGroup* out = response->add_groups();
    for (const std::string& k : group) out->add_keys(k);
    out->set_record_count(static_cast<int32_t>(totals.records));
    out->set_participant_count(static_cast<int32_t>(totals.participants));
  }
  response->set_total_size(static_cast<int32_t>(total));
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::GetReplicaStatus(
    grpc::ServerContext* context, const v1::GetReplicaStatusRequest* request,
    v1::ReplicaStatus* response) {
  FollowerStatus status;
  if (follower_ != nullptr) status = follower_->status();
  status.applied_sequence = replica_.applied_sequence();
  response->set_applied_sequence(status.applied_sequence);
  response->set_head_sequence(status.head_sequence);
  const uint64_t lag = status.head_sequence > status.applied_sequence
                           ? status.head_sequence - status.applied_sequence
                           : 0;
  response->set_lag_sequences(lag);
  if (status.last_change_time != absl::InfinitePast()) {
    const int64_t nanos = absl::ToUnixNanos(status.last_change_time);
    response->mutable_last_change_time()->set_seconds(nanos / 1'000'000'000);
    response->mutable_last_change_time()->set_nanos(nanos % 1'000'000'000);
    if (lag > 0) {
      response->set_lag_seconds(
          absl::ToDoubleSeconds(absl::Now() - status.last_change_time));
    }
  }
  response->set_connected(status.connected);
  response->set_caught_up_once(status.caught_up_once);
  response->set_last_error(status.last_error);
  response->set_stalled(status.stalled);
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::GetDigest(grpc::ServerContext* context,
                                         const v1::GetDigestRequest* request,
                                         v1::Digest* response) {
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  absl::StatusOr<Replica::ReplicaDigest> digest = replica_.Digest();
  if (!digest.ok()) return ToGrpcStatus(digest.status());
  response->set_sequence(digest->sequence);
  response->set_record_count(digest->record_count);
  response->set_digest(digest->digest);
  return grpc::Status::OK;
}

}  // namespace kouryu::query

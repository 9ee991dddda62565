#include "ingest-service/ingest_service.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/memory.h"
#include "common/status.h"
#include "ingest-service/call_limits.h"
#include "ingest-service/encoding.h"
#include "ingest-service/record_codec.h"
#include "ingest-service/table_reader.h"

namespace kouryu::ingest {
namespace {

struct Counts {
  int created = 0, updated = 0, unchanged = 0, rejected = 0;

  void Add(v1::Outcome outcome) {
    switch (outcome) {
      case v1::OUTCOME_CREATED: ++created; break;
      case v1::OUTCOME_UPDATED: ++updated; break;
      case v1::OUTCOME_UNCHANGED: ++unchanged; break;
      default: ++rejected; break;
    }
  }

  template <typename Response>
  void CopyTo(Response* response) const {
    response->set_created_count(created);
    response->set_updated_count(updated);
    response->set_unchanged_count(unchanged);
    response->set_rejected_count(rejected);
  }
};

// The per-row results of one answer, within a byte budget: rows with
// violations or warnings first, then the others in row order while room
// remains. Counts cover every row added.
class BoundedResults {
 public:
  explicit BoundedResults(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Outcomes of the rows added so far.
  const Counts& counts() const { return counts_; }

  void Add(v1::RowResult result) {
    counts_.Add(result.outcome());
    // The result's bytes, its tag and its length.
    const size_t bytes = result.ByteSizeLong() + 6;
    const bool notable = result.outcome() == v1::OUTCOME_REJECTED ||
                         result.violations_size() > 0 ||
                         result.warnings_size() > 0;
    List& list = notable ? notable_ : plain_;
    if (list.bytes + bytes > max_bytes_) {
      ++omitted_;
      return;
    }
    list.bytes += bytes;
    // Kept serialized: a message object with its strings takes a few times
    // its wire size.
    list.results.push_back({bytes, result.row(), result.SerializeAsString()});
  }

  // Moves the results (in row order), counts and omitted count to `response`.
  template <typename Response>
  void MoveTo(Response* response) {
    counts_.CopyTo(response);
    // A stream adds the rows that do not parse before the batch around them.
    for (List* list : {&notable_, &plain_}) {
      std::stable_sort(list->results.begin(), list->results.end(),
                       [](const Sized& a, const Sized& b) {
                         return a.row < b.row;
                       });
    }
    size_t room = max_bytes_ - notable_.bytes;
    size_t plain = 0;
    while (plain < plain_.results.size() && plain_.results[plain].bytes <= room) {
      room -= plain_.results[plain++].bytes;
    }
    omitted_ += plain_.results.size() - plain;
    size_t a = 0, b = 0;
    while (a < notable_.results.size() || b < plain) {
      bool take_notable =
          b == plain || (a < notable_.results.size() &&
                         notable_.results[a].row < plain_.results[b].row);
      Sized& next = take_notable ? notable_.results[a++] : plain_.results[b++];
      response->add_results()->ParseFromString(next.serialized);
    }
    response->set_omitted_result_count(omitted_);
    notable_ = {};
    plain_ = {};
  }

 private:
  struct Sized {
    size_t bytes;
    int row;
    std::string serialized;
  };
  struct List {
    std::vector<Sized> results;
    size_t bytes = 0;
  };

  const size_t max_bytes_;
  Counts counts_;
  List notable_, plain_;
  int omitted_ = 0;
};

struct WriteOptions {
  // "rows" or "records": field paths read rows[N].title.
  absl::string_view path_root;
  bool validate_only = false;
  bool atomic = false;
  bool strict = false;
};

// One row of a table or message of a stream, before normalization.
struct PendingRow {
  int number = 0;
  v1::RawRecord raw;
  v1::SourceRef source;
};

// What the batches of one call have done so far.
struct Progress {
  // The latest UpsertBatchResult::sequence of the call's batches.
  uint64_t sequence = 0;
  bool any_batch = false;
  // Some batch of the call is in the store.
  bool committed = false;
  // validate_only: what each record of earlier batches would have become
  // (hash of record ID -> hash of name and etag). The store compares a dry
  // run's batch with what is stored, which holds none of those batches.
  absl::flat_hash_map<size_t, size_t> dry_run;
};

// A dry run's outcome as the real call's would be: a record that an earlier
// batch of the call wrote is UPDATED or UNCHANGED against that, not what
// the store holds.
void DryRunOutcome(const v1::Record& record, Progress& progress,
                   v1::Outcome& outcome) {
  const absl::string_view name = record.name();
  const size_t id = absl::HashOf(name.substr(name.rfind('/') + 1));
  const size_t content = absl::HashOf(name, record.etag());
  auto [it, added] = progress.dry_run.try_emplace(id, content);
  if (added) return;
  outcome = it->second == content ? v1::OUTCOME_UNCHANGED : v1::OUTCOME_UPDATED;
  it->second = content;
}

void AddViolations(const std::vector<FieldViolation>& violations,
                   google::protobuf::RepeatedPtrField<
                       google::rpc::BadRequest::FieldViolation>* out) {
  for (const FieldViolation& v : violations) {
    auto* added = out->Add();
    added->set_field(v.field);
    added->set_description(v.description);
  }
}

void Reject(v1::RowResult* result, const absl::Status& status) {
  result->set_outcome(v1::OUTCOME_REJECTED);
  std::vector<FieldViolation> violations = ViolationsOf(status);
  if (violations.empty()) violations.push_back({"", std::string(status.message())});
  AddViolations(violations, result->mutable_violations());
}

// Normalizes `rows`, then writes the valid ones in one batch (all or none),
// adding one RowResult per row to `results`. With `atomic`, any rejected
// row fails the call with every violation and writes nothing. A batch the
// store cannot write fails the call only while nothing of the call is in
// the store; after that its rows are rejected with the store's error, so
// that no call that wrote something answers with an error.
absl::Status NormalizeAndWrite(const Normalizer& normalizer, Store& store,
                               WorkerPool& workers, std::vector<PendingRow>& rows,
                               const WriteOptions& options, Progress& progress,
                               BoundedResults& results) {
  // Rows are normalized (and their content serialized) in parts, on this
  // thread and on workers with nothing else to do; each row's result goes
  // to its own slot, read below in row order.
  struct Normalized {
    absl::StatusOr<NormalizedRecord> normalized;
    std::string content, etag;  // Of the record, when it normalized.
  };
  std::vector<Normalized> done(rows.size());
  constexpr size_t kRowsPerPart = 32;
  workers.RunParts(
      static_cast<int>((rows.size() + kRowsPerPart - 1) / kRowsPerPart),
      [&](int part) {
        const size_t begin = static_cast<size_t>(part) * kRowsPerPart;
        const size_t end = std::min(rows.size(), begin + kRowsPerPart);
        for (size_t i = begin; i < end; ++i) {
          const std::string prefix =
              absl::StrCat(options.path_root, "[", rows[i].number, "].");
          Normalized& out = done[i];
          out.normalized = normalizer.Normalize(
              rows[i].raw, rows[i].source,
              {.field_prefix = prefix, .strict = options.strict});
          if (!out.normalized.ok()) continue;
          out.content = ContentBytes(out.normalized->record);
          out.etag = EtagOf(out.content);
        }
      });

  std::vector<v1::RowResult> row_results(rows.size());
  std::vector<ContentRecord> valid;
  std::vector<size_t> valid_rows;
  std::vector<FieldViolation> all_violations;
  for (size_t i = 0; i < rows.size(); ++i) {
    v1::RowResult& result = row_results[i];
    result.set_row(rows[i].number);
    absl::StatusOr<NormalizedRecord>& normalized = done[i].normalized;
    if (!normalized.ok()) {
      Reject(&result, normalized.status());
      for (FieldViolation& v : ViolationsOf(normalized.status())) {
        all_violations.push_back(std::move(v));
      }
      continue;
    }
    result.set_name(normalized->record.name());
    AddViolations(normalized->warnings, result.mutable_warnings());
    valid.push_back({std::move(normalized->record), std::move(done[i].content),
                     std::move(done[i].etag)});
    valid_rows.push_back(i);
  }
  done.clear();
  if (options.atomic && !all_violations.empty()) {
    return InvalidArgumentError(
        "INVALID_ROWS",
        absl::StrCat(all_violations.size(),
                     " problem(s); nothing was written (atomic). First: ",
                     all_violations.front().field, " ",
                     all_violations.front().description),
        all_violations,
        {{"violations", absl::StrCat(all_violations.size())}});
  }
  absl::StatusOr<UpsertBatchResult> written =
      store.Upsert(std::move(valid), options.validate_only);
  if (!written.ok()) {
    if (!progress.committed) return written.status();
    for (size_t i : valid_rows) {
      row_results[i].set_outcome(v1::OUTCOME_REJECTED);
      auto* v = row_results[i].add_violations();
      v->set_field(absl::StrCat(options.path_root, "[", rows[i].number, "]"));
      v->set_description(absl::StrCat("not written: ", written.status().ToString()));
    }
  } else {
    for (size_t j = 0; j < written->records.size(); ++j) {
      v1::Outcome outcome = written->records[j].outcome;
      if (options.validate_only) {
        DryRunOutcome(written->records[j].record, progress, outcome);
      }
      row_results[valid_rows[j]].set_outcome(outcome);
    }
    progress.sequence = std::max(progress.sequence, written->sequence);
    progress.any_batch = true;
    if (!options.validate_only && !valid_rows.empty()) progress.committed = true;
  }
  for (v1::RowResult& result : row_results) results.Add(std::move(result));
  return absl::OkStatus();
}

}  // namespace

IngestServiceImpl::IngestServiceImpl(const Normalizer& normalizer, Store& store,
                                     const IngestServiceOptions& options)
    : normalizer_(normalizer),
      store_(store),
      options_(options),
      workers_(options.stream_workers) {}

IngestServiceImpl::~IngestServiceImpl() = default;

grpc::Status IngestServiceImpl::UpsertRecord(
    grpc::ServerContext* context, const v1::UpsertRecordRequest* request,
    v1::UpsertRecordResponse* response) {
  Slot call(unary_calls_, options_.max_unary_calls);
  if (!call.ok()) return Busy("calls", options_.max_unary_calls, "TOO_MANY_CALLS");
  absl::StatusOr<NormalizedRecord> normalized = normalizer_.Normalize(
      request->record(), v1::SourceRef(),
      {.field_prefix = "record.", .strict = request->strict()});
  if (!normalized.ok()) return ToGrpcStatus(normalized.status());
  std::vector<v1::Record> records;
  records.push_back(std::move(normalized->record));
  absl::StatusOr<UpsertBatchResult> written =
      store_.Upsert(std::move(records), request->validate_only());
  if (!written.ok()) return ToGrpcStatus(written.status());
  *response->mutable_record() = std::move(written->records.front().record);
  response->set_outcome(written->records.front().outcome);
  response->set_sequence(written->sequence);
  AddViolations(normalized->warnings, response->mutable_warnings());
  return grpc::Status::OK;
}

// One IngestRecords call. Messages arrive as raw bytes and are parsed here,
// so one that does not parse becomes a rejected row. Rows are normalized and
// written in batches on the service's workers, never on gRPC's threads.
// While one batch is written the next is read, so a stream holds at most
// two batches: once the next is full too, reading waits for the write.
// A stream with a read pending for stream_idle_timeout is idle, and the
// watchdog ends it.
//
// Who ends the call (End, after which OnDone may delete `this`) is decided
// under mutex_, which ending_ then records. While a batch is written: its
// writer, which acts on what came meanwhile (a cancellation, the end of
// the stream, an idle timeout); but when the batch failed, or the stream
// was found idle, while an OnReadDone runs, that reader, which must not
// read on after the end. Otherwise the reader (OnReadDone) or the
// watchdog, never both: OnReadDone disarms the watchdog first (waiting if
// it runs), and the watchdog leaves a running reader to end the call.
class IngestServiceImpl::StreamReactor final
    : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  StreamReactor(IngestServiceImpl& service, grpc::CallbackServerContext* context,
                grpc::ByteBuffer* response)
      : service_(service),
        context_(context),
        response_(response),
        results_(service.options_.max_results_bytes),
        slot_(service.streams_, service.options_.max_streams) {
    if (!slot_.ok()) {
      End(Busy("IngestRecords streams", service.options_.max_streams,
               "TOO_MANY_STREAMS"));
      return;
    }
    ReadNext();
  }

  void OnReadDone(bool ok) override {
    service_.idle_.Disarm(alarm_.exchange(0));
    {
      absl::MutexLock lock(&mutex_);
      if (ending_) return;  // The watchdog or the writer ended the call.
      ++readers_;
    }
    if (!ok) {
      OnReadsEnded();
      return;
    }
    v1::IngestRecordsRequest request;
    const size_t message_bytes = buffer_.Length();
    // A message far beyond what a row may hold is not parsed (nor kept):
    // the stream's memory stays bounded by its batches.
    const bool too_large = message_bytes > kMaxRowMessageBytes;
    bool parsed = false;
    if (!too_large) {
      grpc::ProtoBufferReader reader(&buffer_);
      parsed = request.ParseFromZeroCopyStream(&reader);
    }
    buffer_.Clear();
    const std::string problem =
        too_large ? absl::StrCat("is a message of ", message_bytes,
                                 " bytes; a row's message may have at most ",
                                 kMaxRowMessageBytes)
                  : std::string(kUnparseable);
    Batch full;
    bool read_on = false, start_writer = false;
    std::optional<grpc::Status> end;
    {
      absl::MutexLock lock(&mutex_);
      ++count_;
      if (error_) {
        // A batch failed meanwhile: this message is not written either.
        end = ToGrpcStatus(*error_);
      } else if (idle_expired_) {
        // The writer ends the call once its batch is done.
      } else if (!parsed && count_ == 1) {
        // Its validate_only and strict would govern every row: write nothing.
        end = ToGrpcStatus(InvalidArgumentError(
            too_large ? "MESSAGE_TOO_LARGE" : "UNPARSEABLE_MESSAGE",
            absl::StrCat("message 1 ", problem, "; nothing was written"),
            {{"records[1]", problem}}));
      } else {
        Take(parsed, std::move(request), message_bytes, problem);
        if (filling_.rows.size() + filling_.unparsed.size() < kBatchRows &&
            filling_.bytes < kBatchBytes) {
          read_on = true;
        } else if (writing_) {
          // Two batches are held: the writer reads on once it takes this one.
          next_ = std::exchange(filling_, {});
        } else {
          writing_ = true;
          full = std::exchange(filling_, {});
          read_on = start_writer = true;
        }
      }
      if (end) ending_ = true;
    }
    if (end) {
      End(*end);
      return;
    }
    // The call cannot end while readers_ counts this reaction (a batch
    // that fails leaves its error to it), nor while writing_ is set and
    // its writer not started: `this` outlives these lines.
    if (read_on) ReadNext();
    if (start_writer) StartWriter(std::move(full));
    ReaderDone();
  }

  void OnDone() override {
    service_.idle_.Disarm(alarm_.exchange(0));
    delete this;
  }

 private:
  // Rows read and not yet written, and the messages among them that did
  // not parse (rejected already, answered with the batch).
  struct Batch {
    std::vector<PendingRow> rows;
    std::vector<v1::RowResult> unparsed;
    size_t bytes = 0;  // Wire bytes of the messages in rows.
    int last_message = 0;  // Written, the batch answers messages to this.
  };

  static constexpr size_t kBatchRows = 512;
  // A batch is written once its messages reach this many bytes too.
  static constexpr size_t kBatchBytes = size_t{8} << 20;
  // Largest message taken as a row: well above what the row limits accept
  // (a results cell of 64 KiB, 1,000 tags), far below gRPC's 64 MiB.
  static constexpr size_t kMaxRowMessageBytes = size_t{1} << 20;
  static constexpr absl::string_view kUnparseable =
      "cannot be parsed as a kouryu.v1.IngestRecordsRequest (a string field "
      "that is not valid UTF-8, or the bytes of another message)";

  static grpc::Status Cancelled() {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  }

  void ReadNext() {
    alarm_ = service_.idle_.Arm(
        absl::Now() + service_.options_.stream_idle_timeout, [this] { Expire(); });
    StartRead(&buffer_);
  }

  // No more messages come: the client closed its side, or cancelled.
  void OnReadsEnded() {
    const bool cancelled = context_->IsCancelled();
    Batch last;
    std::optional<grpc::Status> end;
    bool start_writer = false;
    {
      absl::MutexLock lock(&mutex_);
      if (error_) {
        end = ToGrpcStatus(*error_);
      } else if (idle_expired_) {
        // The writer ends the call.
      } else if (writing_) {
        // The writer writes what is left, or ends the call, once it is done.
        if (cancelled) {
          cancelled_ = true;
        } else {
          half_closed_ = true;
          next_ = std::exchange(filling_, {});
        }
      } else if (cancelled) {
        end = Cancelled();
      } else {
        half_closed_ = true;
        writing_ = start_writer = true;
        last = std::exchange(filling_, {});
      }
      if (end) ending_ = true;
    }
    if (end) {
      End(*end);
      return;
    }
    if (start_writer) StartWriter(std::move(last));
    ReaderDone();
  }

  // Adds message count_ to the batch being read: its row, or its
  // rejection when it did not parse.
  void Take(bool parsed, v1::IngestRecordsRequest request, size_t message_bytes,
            const std::string& problem) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    filling_.last_message = count_;
    if (parsed) {
      if (count_ == 1) {
        options_.validate_only = request.validate_only();
        options_.strict = request.strict();
      }
      filling_.rows.push_back({count_, std::move(*request.mutable_record()),
                               std::move(*request.mutable_source())});
      filling_.bytes += message_bytes;
      return;
    }
    v1::RowResult result;
    result.set_row(count_);
    result.set_outcome(v1::OUTCOME_REJECTED);
    auto* v = result.add_violations();
    v->set_field(absl::StrCat("records[", count_, "]"));
    v->set_description(absl::StrCat(problem, "; the row was not written"));
    if (filling_.rows.empty() && filling_.unparsed.empty() && !writing_) {
      // Nothing before it waits to be written: it is answered now.
      results_.Add(std::move(result));
      answered_ = count_;
    } else {
      filling_.unparsed.push_back(std::move(result));
    }
  }

  // The end of an OnReadDone that did not end the call. When a batch
  // failed, or the stream was found idle, while it ran, and no other
  // reader or writer runs, it ends the call.
  void ReaderDone() {
    std::optional<grpc::Status> end;
    {
      absl::MutexLock lock(&mutex_);
      if (--readers_ == 0 && !ending_ && !writing_) {
        if (error_) {
          end = ToGrpcStatus(*error_);
        } else if (idle_expired_) {
          end = IdleStatus();
        }
        if (end) ending_ = true;
      }
    }
    if (end) End(*end);
  }

  void StartWriter(Batch batch) {
    service_.workers_.Run([this, batch = std::move(batch)]() mutable {
      WriteBatches(std::move(batch));
    });
  }

  // On a worker, with writing_ set: writes `batch`, then each batch the
  // reader hands over meanwhile, and ends the call when that is what is
  // left to do.
  void WriteBatches(Batch batch) {
    while (true) {
      absl::Status status = absl::OkStatus();
      if (!batch.rows.empty()) {
        status = NormalizeAndWrite(service_.normalizer_, service_.store_,
                                   service_.workers_, batch.rows, options_,
                                   progress_, results_);
      }
      for (v1::RowResult& result : batch.unparsed) results_.Add(std::move(result));
      enum class Then { kWrite, kWriteAndRead, kFail, kCancel, kIdle, kFinish };
      Then then = Then::kFinish;
      {
        absl::MutexLock lock(&mutex_);
        // Every message of the batch is answered: written, or rejected (a
        // row that did not parse, or did not normalize).
        answered_ = std::max(answered_, batch.last_message);
        if ((!status.ok() || idle_expired_) && readers_ > 0) {
          // That OnReadDone ends the call, rather than read on after it.
          if (!status.ok()) error_ = status;
          writing_ = false;
          return;
        }
        if (!status.ok()) {
          then = Then::kFail;
        } else if (cancelled_) {
          then = Then::kCancel;
        } else if (idle_expired_) {
          then = Then::kIdle;
        } else if (next_) {
          batch = *std::exchange(next_, std::nullopt);
          then = half_closed_ ? Then::kWrite : Then::kWriteAndRead;
        } else if (!half_closed_) {
          writing_ = false;  // The reader holds the call again.
          return;
        }
        if (then != Then::kWrite && then != Then::kWriteAndRead) ending_ = true;
      }
      switch (then) {
        case Then::kWriteAndRead:
          ReadNext();
          continue;
        case Then::kWrite:
          continue;
        case Then::kFail:
          End(ToGrpcStatus(status));
          return;
        case Then::kCancel:
          End(Cancelled());
          return;
        case Then::kIdle:
          EndIdle();
          return;
        case Then::kFinish:
          FinishOk();
          return;
      }
    }
  }

  // The watchdog's: a read was pending for stream_idle_timeout.
  void Expire() {
    {
      absl::MutexLock lock(&mutex_);
      if (ending_) return;
      if (writing_ || readers_ > 0) {
        // The writer ends the call once its batch is done, or the reader
        // (which may be about to read) once it is.
        idle_expired_ = true;
        return;
      }
      ending_ = true;
    }
    EndIdle();
  }

  void FinishOk() {
    v1::IngestRecordsResponse response;
    results_.MoveTo(&response);
    service_.RowsRejected("IngestRecords", response.rejected_count());
    response.set_sequence(progress_.any_batch ? progress_.sequence
                                              : service_.store_.HeadSequence());
    std::string bytes = response.SerializeAsString();
    grpc::Slice slice(bytes);
    *response_ = grpc::ByteBuffer(&slice, 1);
    End(grpc::Status::OK);
  }

  void EndIdle() {
    grpc::Status status;
    {
      absl::MutexLock lock(&mutex_);
      status = IdleStatus();
    }
    End(status);
  }

  grpc::Status IdleStatus() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const Counts& counts = results_.counts();
    return ToGrpcStatus(WithReason(
        absl::DeadlineExceededError(absl::StrCat(
            "the stream was idle (no message for ",
            absl::FormatDuration(service_.options_.stream_idle_timeout),
            ") and was ended: of ", count_, " message(s) received, ",
            answered_ == 0
                ? std::string("none was written")
                : absl::StrCat(
                      "messages 1 to ", answered_, " were answered (",
                      counts.created, " created, ", counts.updated,
                      " updated, ", counts.unchanged, " unchanged, ",
                      counts.rejected, " rejected and not written",
                      progress_.committed
                          ? absl::StrCat("; last sequence ", progress_.sequence)
                          : std::string(),
                      ")"),
            answered_ < count_
                ? absl::StrCat("; messages ", answered_ + 1, " to ", count_,
                               " were not written")
                : "")),
        "STREAM_IDLE",
        {{"messagesReceived", absl::StrCat(count_)},
         {"messagesAnswered", absl::StrCat(answered_)},
         {"rejectedCount", absl::StrCat(counts.rejected)},
         {"sequence", absl::StrCat(progress_.sequence)}}));
  }


  // The last thing done with `this`: OnDone may delete it before Finish
  // returns.
  void End(const grpc::Status& status) {
    // Free before the client learns the status, so that it may open the
    // next stream at once; OnDone (which deletes this) may come later.
    slot_.Release();
    Finish(status);
  }

  IngestServiceImpl& service_;
  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_;
  grpc::ByteBuffer buffer_;
  // Set from message 1, before any batch is written.
  WriteOptions options_{.path_root = "records"};
  // The writer's, and the reader's while no batch is written.
  BoundedResults results_;
  Progress progress_;
  absl::Mutex mutex_;
  Batch filling_ ABSL_GUARDED_BY(mutex_);  // The reader's.
  // A batch the reader handed over while another was written.
  std::optional<Batch> next_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;  // A batch is on a worker.
  // What came while a batch was written, for its writer to act on.
  bool half_closed_ ABSL_GUARDED_BY(mutex_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  bool idle_expired_ ABSL_GUARDED_BY(mutex_) = false;
  // A batch failed while an OnReadDone ran, which ends the call with it.
  std::optional<absl::Status> error_ ABSL_GUARDED_BY(mutex_);
  int readers_ ABSL_GUARDED_BY(mutex_) = 0;  // OnReadDone calls running.
  bool ending_ ABSL_GUARDED_BY(mutex_) = false;  // End is called or due.
  int count_ ABSL_GUARDED_BY(mutex_) = 0;
  // Messages 1 to answered_ are written or rejected; the rest are not.
  int answered_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<uint64_t> alarm_{0};
  Slot slot_;  // Released by End, or when the reactor is deleted.
};

grpc::ServerReadReactor<grpc::ByteBuffer>* IngestServiceImpl::IngestRecords(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* response) {
  return new StreamReactor(*this, context, response);
}

grpc::Status IngestServiceImpl::ImportTable(
    grpc::ServerContext* context, const v1::ImportTableRequest* request,
    v1::ImportTableResponse* response) {
  Slot call(unary_calls_, options_.max_unary_calls);
  if (!call.ok()) return Busy("calls", options_.max_unary_calls, "TOO_MANY_CALLS");
  Slot import(imports_, options_.max_concurrent_imports);
  if (!import.ok()) {
    return Busy("imports", options_.max_concurrent_imports, "TOO_MANY_IMPORTS");
  }
  ReturnFreeMemory();  // What the last call's reply left, once gRPC freed it.
  grpc::Status status = DoImportTable(*request, response);
  if (status.ok() && !request->validate_only() && options_.on_table_imported) {
    options_.on_table_imported(request->content().size());
  }
  // What the import allocated is freed by now (but the request, gRPC's):
  // give it back to the system rather than keep it in malloc's arenas.
  ReturnFreeMemory();
  return status;
}

grpc::Status IngestServiceImpl::DoImportTable(const v1::ImportTableRequest& request,
                                              v1::ImportTableResponse* response) {
  absl::StatusOr<std::vector<int>> layout = ColumnLayout(
      std::vector<std::string>(request.columns().begin(), request.columns().end()));
  if (!layout.ok()) return ToGrpcStatus(layout.status());
  absl::StatusOr<Table> table;
  {
    absl::StatusOr<DecodedText> decoded =
        DecodeTable(request.content(), request.encoding(), /*borrow_utf8=*/true);
    if (!decoded.ok()) return ToGrpcStatus(decoded.status());
    response->set_encoding(decoded->encoding);
    table = ReadTable(decoded->text(), {.has_header = !request.no_header(),
                                      .check_header = request.columns().empty()});
  }
  if (!table.ok()) return ToGrpcStatus(table.status());
  int fiscal_year =
      request.fiscal_year() != 0 ? request.fiscal_year() : table->fiscal_year;
  if (fiscal_year == 0) {
    return ToGrpcStatus(InvalidArgumentError(
        "FISCAL_YEAR_UNKNOWN",
        "the header names no fiscal year and the request gives none",
        {{"fiscal_year",
          "set fiscal_year, or name the year in the header (R元年度, "
          "令和2年度, 2019年度)"}}));
  }
  response->set_fiscal_year(fiscal_year);

  if (absl::Status shape = CheckColumnCounts(*table, layout->size());
      !shape.ok()) {
    return ToGrpcStatus(shape);
  }
  // Rows are normalized and written in chunks (an atomic import in one), so
  // that an import holds its table once, not once per stage; a normalized
  // record takes many times its row (its events and sections), so chunks
  // are small.
  constexpr size_t kChunkRows = 256;
  const size_t chunk_rows = request.atomic() ? table->rows.size() : kChunkRows;
  const WriteOptions options{.path_root = "rows",
                             .validate_only = request.validate_only(),
                             .atomic = request.atomic(),
                             .strict = request.strict()};
  BoundedResults results(options_.max_results_bytes);
  Progress progress;
  std::vector<PendingRow> chunk;
  for (size_t i = 0; i < table->rows.size(); ++i) {
    TableRow& row = table->rows[i];
    RowRecord taken =
        TakeRowRecord(row, *layout, fiscal_year, request.file_name());
    chunk.push_back(
        {row.line, std::move(taken.raw), std::move(taken.source)});
    if (chunk.size() == chunk_rows || i + 1 == table->rows.size()) {
      absl::Status written = NormalizeAndWrite(
          normalizer_, store_, workers_, chunk, options, progress, results);
      if (!written.ok()) return ToGrpcStatus(written);
      chunk.clear();
    }
  }
  results.MoveTo(response);
  RowsRejected("ImportTable", response->rejected_count());
  response->set_sequence(progress.any_batch ? progress.sequence
                                            : store_.HeadSequence());
  return grpc::Status::OK;
}

void IngestServiceImpl::RowsRejected(const char* method, int rows) const {
  if (rows > 0 && options_.on_rows_rejected) options_.on_rows_rejected(method, rows);
}

grpc::Status IngestServiceImpl::DeleteRecord(
    grpc::ServerContext* context, const v1::DeleteRecordRequest* request,
    v1::DeleteRecordResponse* response) {
  Slot call(unary_calls_, options_.max_unary_calls);
  if (!call.ok()) return Busy("calls", options_.max_unary_calls, "TOO_MANY_CALLS");
  absl::StatusOr<uint64_t> sequence =
      store_.Delete(request->name(), request->etag());
  if (!sequence.ok()) return ToGrpcStatus(sequence.status());
  response->set_sequence(*sequence);
  return grpc::Status::OK;
}

}  // namespace kouryu::ingest

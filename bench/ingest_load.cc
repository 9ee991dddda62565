#include "bench/ingest_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "bench/load.h"

namespace kouryu::bench {
namespace {

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Rows written, and rejected rows as errors, from a write's answer.
template <typename Response>
void CountRows(const Response& response, Figures& figures) {
  figures.ops = response.created_count() + response.updated_count() +
                response.unchanged_count();
  for (const v1::RowResult& row : response.results()) {
    if (row.outcome() != v1::OUTCOME_REJECTED) continue;
    AddError(figures.errors, "REJECTED",
             row.violations().empty()
                 ? ""
                 : absl::StrCat(row.violations(0).field(), " ",
                                row.violations(0).description()));
  }
}

// One IngestRecords stream: each write starts when the previous one is
// done, the last is followed by WritesDone.
class RecordStream final
    : public grpc::ClientWriteReactor<v1::IngestRecordsRequest> {
 public:
  RecordStream(v1::IngestService::Stub& stub,
               const std::vector<v1::IngestRecordsRequest>& requests,
               v1::IngestRecordsResponse* response)
      : requests_(requests) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + kBulkCallTimeout));
    stub.async()->IngestRecords(&context_, response, this);
    WriteNext();
    StartCall();
  }

  grpc::Status Await() {
    done_.WaitForNotification();
    return status_;
  }

  void OnWriteDone(bool ok) override {
    // A failed write means the call is over; OnDone will tell why.
    if (ok) WriteNext();
  }

  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }

 private:
  void WriteNext() {
    if (next_ < requests_.size()) {
      StartWrite(&requests_[next_++]);
    } else {
      StartWritesDone();
    }
  }

  const std::vector<v1::IngestRecordsRequest>& requests_;
  grpc::ClientContext context_;
  size_t next_ = 0;
  grpc::Status status_;
  absl::Notification done_;
};

// The writes and probes of ReplicationLag in flight, and what they found.
// A write that is acknowledged while a probe slot is free is probed; the
// others are written but not probed, so that waiting probes never hold
// more than `probe_slots` of the query server's threads.
class LagProbes {
 public:
  LagProbes(v1::IngestService::Stub& ingest, v1::QueryService::Stub& query,
            const testing::TableGenerator& generator, int probe_slots,
            Clock::time_point window_start, Clock::time_point window_end)
      : ingest_(ingest),
        query_(query),
        generator_(generator),
        probe_slots_(probe_slots),
        window_start_(window_start),
        window_end_(window_end) {}

  // Starts the write of the next generated row unless `max_in_flight`
  // writes are in flight; returns whether it did.
  bool Write(std::atomic<uint64_t>& next_row, int max_in_flight) {
    {
      absl::MutexLock lock(&mutex_);
      if (writes_in_flight_ >= max_in_flight) return false;
      ++writes_in_flight_;
    }
    auto* call =
        new CallState<v1::UpsertRecordRequest, v1::UpsertRecordResponse>;
    *call->request.mutable_record() = generator_.Row(next_row.fetch_add(1));
    ingest_.async()->UpsertRecord(&call->context, &call->request,
                                  &call->response,
                                  [this, call](grpc::Status status) {
                                    Acknowledged(status, call->response);
                                    delete call;
                                  });
    return true;
  }

  void Drain() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(this, &LagProbes::Idle));
  }

  void Collect(Figures& figures) {
    absl::MutexLock lock(&mutex_);
    figures.ops = acked_in_window_;
    AddErrors(figures.errors, errors_);
    const size_t probed = lags_.size();
    figures.p50_us = Percentile(lags_, 0.50);
    figures.p99_us = Percentile(lags_, 0.99);
    const double max_lag_us =
        lags_.empty() ? 0 : *std::max_element(lags_.begin(), lags_.end());
    figures.note = absl::StrCat(probed, " of ", acked_in_window_,
                                " writes probed; max lag ",
                                absl::StrFormat("%.1f", max_lag_us / 1000),
                                " ms; CPU of both servers per write");
  }

 private:
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return writes_in_flight_ == 0 && probes_in_flight_ == 0;
  }

  void Acknowledged(const grpc::Status& status,
                    const v1::UpsertRecordResponse& response) {
    const Clock::time_point acked = Clock::now();
    const bool in_window = acked >= window_start_ && acked < window_end_;
    {
      absl::MutexLock lock(&mutex_);
      --writes_in_flight_;
      if (!status.ok()) {
        AddError(errors_, CodeName(status.error_code()),
                 status.error_message());
        return;
      }
      if (in_window) ++acked_in_window_;
      if (probes_in_flight_ >= probe_slots_) return;
      ++probes_in_flight_;
    }
    Probe(response.record().name(), response.sequence(), acked, in_window);
  }

  void Probe(const std::string& name, uint64_t sequence,
             Clock::time_point acked, bool in_window) {
    auto* call = new CallState<v1::GetRecordRequest, v1::Record>;
    call->request.set_name(name);
    call->request.set_min_sequence(sequence);
    query_.async()->GetRecord(
        &call->context, &call->request, &call->response,
        [this, call, acked, in_window](grpc::Status status) {
          const double lag_us =
              std::chrono::duration<double, std::micro>(Clock::now() - acked)
                  .count();
          delete call;
          absl::MutexLock lock(&mutex_);
          --probes_in_flight_;
          if (!status.ok()) {
            AddError(errors_, CodeName(status.error_code()),
                     status.error_message());
          } else if (in_window) {
            lags_.push_back(lag_us);
          }
        });
  }

  v1::IngestService::Stub& ingest_;
  v1::QueryService::Stub& query_;
  const testing::TableGenerator& generator_;
  const int probe_slots_;
  const Clock::time_point window_start_, window_end_;
  absl::Mutex mutex_;
  int writes_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  int probes_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t acked_in_window_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<double> lags_ ABSL_GUARDED_BY(mutex_);
  Errors errors_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

Figures StreamRecords(const std::string& name, v1::IngestService::Stub& stub,
                      const std::vector<v1::IngestRecordsRequest>& requests,
                      const std::vector<pid_t>& cpu_pids,
                      v1::IngestRecordsResponse* response) {
  const int64_t cpu_start = ProcessCpuMicros(cpu_pids);
  const Clock::time_point start = Clock::now();
  RecordStream stream(stub, requests, response);
  grpc::Status status = stream.Await();
  Figures figures{.name = name, .seconds = Seconds(Clock::now() - start)};
  const int64_t cpu_end = ProcessCpuMicros(cpu_pids);
  if (!status.ok()) {
    AddError(figures.errors, CodeName(status.error_code()),
             status.error_message());
    return figures;
  }
  CountRows(*response, figures);
  SetCpuPerOp(cpu_start, cpu_end, figures);
  return figures;
}

Figures ImportTable(const std::string& name, v1::IngestService::Stub& stub,
                    const std::string& table,
                    const std::vector<pid_t>& cpu_pids) {
  v1::ImportTableRequest request;
  request.set_content(table);
  request.set_file_name("generated.tsv");
  v1::ImportTableResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kBulkCallTimeout));

  const int64_t cpu_start = ProcessCpuMicros(cpu_pids);
  const Clock::time_point start = Clock::now();
  absl::Notification done;
  grpc::Status status;
  stub.async()->ImportTable(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  Figures figures{.name = name, .seconds = Seconds(Clock::now() - start)};
  const int64_t cpu_end = ProcessCpuMicros(cpu_pids);
  if (!status.ok()) {
    AddError(figures.errors, CodeName(status.error_code()),
             status.error_message());
    return figures;
  }
  CountRows(response, figures);
  SetCpuPerOp(cpu_start, cpu_end, figures);
  return figures;
}

Figures ReplicationLag(const std::string& name, v1::IngestService::Stub& ingest,
                       v1::QueryService::Stub& query,
                       const testing::TableGenerator& generator,
                       const LagOptions& options) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point window_start =
      start + absl::ToChronoNanoseconds(options.warmup);
  const Clock::time_point window_end =
      window_start + absl::ToChronoNanoseconds(options.duration);
  LagProbes probes(ingest, query, generator, options.probe_slots, window_start,
                   window_end);

  // The pacer: every writes_per_second-th of a second a write is due; it
  // catches up after oversleeping, so the rate holds on average.
  uint64_t due_done = 0, not_sent = 0;
  int64_t cpu_start = -1;
  for (Clock::time_point now = start; now < window_end; now = Clock::now()) {
    if (cpu_start < 0 && now >= window_start) {
      cpu_start = ProcessCpuMicros(options.cpu_pids);
    }
    const auto due =
        static_cast<uint64_t>(Seconds(now - start) * options.writes_per_second);
    for (; due_done < due; ++due_done) {
      if (!probes.Write(*options.next_row, options.max_in_flight)) {
        ++not_sent;
      }
    }
    absl::SleepFor(absl::Microseconds(100));
  }
  const int64_t cpu_end = ProcessCpuMicros(options.cpu_pids);
  probes.Drain();

  Figures figures{.name = name, .seconds = Seconds(window_end - window_start)};
  probes.Collect(figures);
  if (not_sent > 0) {
    figures.errors["NOT_SENT"] = {
        static_cast<int64_t>(not_sent),
        absl::StrCat("due while ", options.max_in_flight,
                     " writes were in flight")};
  }
  figures.note =
      absl::StrCat("target ", static_cast<int64_t>(options.writes_per_second),
                   " writes/s; ", figures.note);
  SetCpuPerOp(cpu_start, cpu_end, figures);
  return figures;
}

}  // namespace kouryu::bench

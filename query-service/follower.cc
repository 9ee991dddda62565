#include "query-service/follower.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace kouryu::query {

std::shared_ptr<grpc::Channel> ConnectToIngest(
    const std::string& address, int max_receive_message_bytes,
    const ChannelSecurity& security) {
  grpc::ChannelArguments args = security.args;
  args.SetMaxReceiveMessageSize(max_receive_message_bytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  return grpc::CreateCustomChannel(address, security.credentials, args);
}

Follower::Follower(Replica& replica,
                   std::shared_ptr<grpc::ChannelInterface> channel,
                   const FollowerOptions& options,
                   std::function<void(bool)> on_serving)
    : replica_(replica),
      stub_(v1::ChangeFeed::NewStub(channel)),
      options_(options),
      on_serving_(std::move(on_serving)) {}

FollowerStatus Follower::status() const {
  absl::MutexLock lock(&mutex_);
  FollowerStatus out = status_;
  out.applied_sequence = replica_.applied_sequence();
  if (out.applied_sequence >= out.head_sequence) {
    out.behind_since = absl::InfiniteFuture();
  }
  return out;
}

void Follower::SawHead(uint64_t head) {
  absl::MutexLock lock(&mutex_);
  // The latest reply's head, as it arrives. It only grows within a stream;
  // after a restore of the system of record the next stream's may be lower.
  status_.head_sequence = head;
  if (status_.behind_since == absl::InfiniteFuture() &&
      replica_.applied_sequence() < status_.head_sequence) {
    status_.behind_since = absl::Now();
  }
}

absl::Status Follower::Handle(v1::SubscribeResponse& response) {
  absl::Status applied;
  absl::Time last_change = absl::InfinitePast();
  if (response.has_snapshot()) {
    if (response.snapshot().first()) {
      LogInfo("snapshot_started", {{"sequence", response.snapshot().sequence()},
                                   {"history", response.history_id()},
                                   {"applied", replica_.applied_sequence()},
                                   {"replica_history", replica_.history_id()}});
    }
    applied = replica_.ApplySnapshotPart(*response.mutable_snapshot(),
                                         response.history_id());
  } else if (!response.history_id().empty() &&
             response.history_id() != replica_.history_id()) {
    // Changes without a snapshot: the feed found the replica's data to be
    // part of its history (change_feed.proto).
    applied = replica_.SetHistoryId(response.history_id());
  }
  if (!applied.ok()) return applied;
  if (!response.has_snapshot() && response.changes_size() > 0) {
    const auto& commit = response.changes().rbegin()->commit_time();
    last_change = absl::FromUnixSeconds(commit.seconds()) +
                  absl::Nanoseconds(commit.nanos());
    std::vector<v1::Change> changes;
    changes.reserve(response.changes_size());
    for (v1::Change& change : *response.mutable_changes()) {
      changes.push_back(std::move(change));
    }
    applied = replica_.Apply(changes);
  }
  if (!applied.ok()) return applied;
  const uint64_t at = replica_.applied_sequence();
  bool first_catch_up = false;
  bool serving = false;
  {
    absl::MutexLock lock(&mutex_);
    status_.connected = true;
    // status_.head_sequence: set by SawHead as the reply arrived.
    if (at >= status_.head_sequence) status_.behind_since = absl::InfiniteFuture();
    if (response.has_snapshot() && response.snapshot().last()) {
      ++status_.snapshots_received;
      LogInfo("snapshot_loaded", {{"sequence", response.snapshot().sequence()},
                                  {"applied", at}});
    }
    if (last_change != absl::InfinitePast()) status_.last_change_time = last_change;
    // A stream that brings changes, or finds the replica at the head, is
    // progress: a stall that cleared while nothing was written must not
    // keep the replica NOT_SERVING until the next write.
    if (response.has_snapshot() || response.changes_size() > 0 ||
        at >= response.head_sequence()) {
      progressed_ = true;
      failures_ = 0;
      status_.last_error.clear();
      if (status_.stalled) {
        status_.stalled = false;
        LogInfo("progress_again", {{"applied", at}});
      }
    }
    if (at >= status_.head_sequence && !response.has_snapshot() &&
        !status_.stalled && !serving_) {
      first_catch_up = !status_.caught_up_once;
      status_.caught_up_once = serving_ = serving = true;
    }
    const absl::Time now = absl::Now();
    if (at < status_.head_sequence &&
        now - last_lag_log_ >= options_.lag_log_interval) {
      last_lag_log_ = now;
      LogInfo("lag", {{"behind", status_.head_sequence - at},
                      {"applied", at},
                      {"head", status_.head_sequence}});
    }
  }
  if (serving) {
    LogInfo("caught_up", {{"applied", at}, {"again", !first_catch_up}});
    if (on_serving_) on_serving_(true);
  }
  return absl::OkStatus();
}

bool Follower::NoteStreamEnd(const absl::Status& ended, bool progressed) {
  if (progressed) failures_ = 0;
  // Ingest down or restarting is an outage, not a stall: the replica
  // serves what it has and reconnects.
  if (!ended.ok() && !absl::IsUnavailable(ended)) ++failures_;
  status_.last_error = ended.ok() ? "" : ended.ToString();
  if (status_.stalled || failures_ < options_.stall_after_failures) {
    return false;
  }
  status_.stalled = true;
  const uint64_t at = replica_.applied_sequence();
  // NOT_SERVING until it catches up again.
  LogError("stalled", {{"applied", at},
                       {"head", std::max(at, status_.head_sequence)},
                       {"failed_streams", failures_},
                       {"error", status_.last_error}});
  return true;
}

Follower::~Follower() { Stop(); }

void Follower::Start() { thread_ = std::thread([this] { Run(); }); }

void Follower::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void Follower::Run() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    absl::Status status = FollowOnce();
    bool stalled = false;
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      // A stream that made progress was healthy: start the backoff afresh.
      if (progressed_) backoff = options_.initial_backoff;
      stalled = NoteStreamEnd(status, progressed_) && serving_;
      if (stalled) serving_ = false;
    }
    if (stalled && on_serving_) on_serving_(false);
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    LogWarn("feed_ended", {{"applied", replica_.applied_sequence()},
                           {"error", status.ToString()},
                           {"retry_in_ms", absl::ToDoubleMilliseconds(backoff)}});
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

namespace {

// Responses read from the change feed, waiting to be applied.
struct Inbox {
  // Changes (or snapshot records) waiting at most, and applied together at
  // most (unless one response holds more): eight of the feed's bulk
  // responses, so that a live tail of one change per response is batched
  // and a bulk catch-up writes fewer, larger batches (each posting list
  // touched once per batch: catch-up 6,166 changes/s at 512, 7,558–8,651
  // at 4,096), while memory stays bounded (an Apply's WriteBatch and index
  // changes grow with its size; the query server's RSS at 100k records was
  // 111 MiB).
  static constexpr int kMaxBatchChanges = 4096;
  // Likewise in bytes (sixteen times what the feed sends in one response).
  static constexpr size_t kMaxBatchBytes = size_t{64} << 20;

  static int Size(const v1::SubscribeResponse& response) {
    return response.has_snapshot() ? response.snapshot().records_size()
                                   : response.changes_size();
  }
  static bool HasRoom(Inbox* inbox) {
    return (inbox->queued < kMaxBatchChanges &&
            inbox->queued_bytes < kMaxBatchBytes) ||
           inbox->abandoned;
  }
  static bool HasWork(Inbox* inbox) {
    return !inbox->queue.empty() || inbox->done;
  }

  struct Arrived {
    v1::SubscribeResponse response;
    size_t bytes;
  };

  absl::Mutex mutex;
  std::deque<Arrived> queue;
  int queued = 0;            // Sum of Size() over the queue.
  size_t queued_bytes = 0;   // Sum of bytes over the queue.
  bool done = false;       // The stream ended.
  bool abandoned = false;  // The applier stopped taking responses.
};

}  // namespace

absl::Status Follower::FollowOnce() {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return absl::OkStatus();
    context_ = &context;
    progressed_ = false;
  }
  v1::SubscribeRequest request;
  request.set_after_sequence(replica_.applied_sequence());
  request.set_history_id(replica_.history_id());
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(&context, request);
  // A reader thread keeps taking responses while the replica applies; the
  // applier then takes everything that arrived at once, so that under a live
  // tail many small responses become one batch instead of a queue of them.
  Inbox inbox;
  std::thread reading([this, &reader, &inbox] {
    v1::SubscribeResponse response;
    while (reader->Read(&response)) {
      SawHead(response.head_sequence());
      const size_t bytes = response.ByteSizeLong();
      absl::MutexLock lock(&inbox.mutex);
      inbox.mutex.Await(absl::Condition(&Inbox::HasRoom, &inbox));
      if (inbox.abandoned) break;
      inbox.queued += Inbox::Size(response);
      inbox.queued_bytes += bytes;
      inbox.queue.push_back({std::move(response), bytes});
      response.Clear();
    }
    absl::MutexLock lock(&inbox.mutex);
    inbox.done = true;
  });
  absl::Status applied = absl::OkStatus();
  while (applied.ok()) {
    std::deque<Inbox::Arrived> arrived;
    {
      absl::MutexLock lock(&inbox.mutex);
      inbox.mutex.Await(absl::Condition(&Inbox::HasWork, &inbox));
      if (inbox.queue.empty()) break;  // The stream ended.
      arrived.swap(inbox.queue);
      inbox.queued = 0;
      inbox.queued_bytes = 0;
    }
    // Consecutive change responses merge into one; snapshot parts go alone.
    v1::SubscribeResponse merged;
    size_t merged_bytes = 0;
    bool pending = false;
    for (auto& [response, bytes] : arrived) {
      if (response.has_snapshot()) {
        if (pending) applied = Handle(merged);
        merged.Clear();
        merged_bytes = 0;
        pending = false;
        if (applied.ok()) applied = Handle(response);
      } else {
        if (pending && (merged.changes_size() + response.changes_size() >
                            Inbox::kMaxBatchChanges ||
                        merged_bytes + bytes > Inbox::kMaxBatchBytes)) {
          applied = Handle(merged);
          merged.Clear();
          merged_bytes = 0;
          pending = false;
          if (!applied.ok()) break;
        }
        merged_bytes += bytes;
        merged.set_head_sequence(
            std::max(merged.head_sequence(), response.head_sequence()));
        merged.set_history_id(response.history_id());
        for (v1::Change& change : *response.mutable_changes()) {
          *merged.add_changes() = std::move(change);
        }
        pending = true;
      }
      if (!applied.ok()) break;
    }
    if (applied.ok() && pending) applied = Handle(merged);
  }
  if (!applied.ok()) {
    context.TryCancel();
    absl::MutexLock lock(&inbox.mutex);
    inbox.abandoned = true;
  }
  reading.join();
  grpc::Status finished = reader->Finish();
  {
    absl::MutexLock lock(&mutex_);
    context_ = nullptr;
    status_.connected = false;
  }
  if (!applied.ok()) return applied;
  return FromGrpcStatus(finished);
}

}  // namespace kouryu::query

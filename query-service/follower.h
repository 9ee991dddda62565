#ifndef KOURYU_QUERY_SERVICE_FOLLOWER_H_
#define KOURYU_QUERY_SERVICE_FOLLOWER_H_

// Follows the ingest server's change feed into a Replica: subscribes after
// the replica's applied sequence, applies each response as it arrives, and
// when the stream ends (ingest restarted, network gone) subscribes again
// with exponential backoff. A follower whose streams keep failing without
// applying anything (for a reason other than ingest being down) reports
// itself stalled, in its status and through its readiness callback, so
// that the replica never serves stale data silently. Runs on its own
// thread between Start and Stop.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/server.h"
#include "common/tls.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "query-service/replica.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace kouryu::query {

// A channel to the ingest server tuned for following: reconnects within
// at most a second after ingest comes back (gRPC's default backoff grows to
// two minutes), notices a silent peer through keepalive pings, and accepts
// messages of up to `max_receive_message_bytes` (by default what ingest may
// send, kMaxMessageBytes; gRPC's own default is 4 MiB). `security` is
// plaintext or TLS (common/tls.h; kouryu-query's --ingest_tls_* flags).
std::shared_ptr<grpc::Channel> ConnectToIngest(
    const std::string& address,
    int max_receive_message_bytes = kMaxMessageBytes,
    const ChannelSecurity& security = PlaintextChannel());

struct FollowerOptions {
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // While behind, the lag is logged at most this often.
  absl::Duration lag_log_interval = absl::Seconds(10);
  // The replica is stalled after this many streams in a row ended in an
  // error other than UNAVAILABLE (ingest down or restarting) without
  // applying anything: a reply too large to receive, a change the replica
  // cannot apply, ingest refusing the call.
  int stall_after_failures = 3;
};

// Where the follower stands; see ReplicaStatus in query_service.proto.
struct FollowerStatus {
  uint64_t applied_sequence = 0;
  // The latest head the change feed reported (each response carries it,
  // read as the response arrives, before it is applied).
  uint64_t head_sequence = 0;
  // Since when the replica has been behind head_sequence: the moment it
  // first saw a head beyond what it had applied, after it was last at the
  // head (InfiniteFuture while at the head).
  absl::Time behind_since = absl::InfiniteFuture();
  // Snapshots loaded whole (the changelog no longer held what it needed).
  uint64_t snapshots_received = 0;
  // Commit time of the last change applied (InfinitePast when none).
  absl::Time last_change_time = absl::InfinitePast();
  bool connected = false;
  bool caught_up_once = false;
  // How the last stream ended, when it ended in an error and nothing was
  // applied since ("" otherwise).
  std::string last_error;
  // The replica cannot make progress (see stall_after_failures); it stays
  // so until a change is applied again.
  bool stalled = false;
};

class Follower {
 public:
  // `replica` must outlive the follower. `on_serving` runs (on the
  // follower's thread) when the replica's readiness changes: true when it
  // first reaches the head, false when it stalls, true again when it
  // reaches the head after the stall. Readiness does not change while
  // ingest is merely down.
  Follower(Replica& replica, std::shared_ptr<grpc::ChannelInterface> channel,
           const FollowerOptions& options,
           std::function<void(bool serving)> on_serving = nullptr);
  ~Follower();

  void Start();
  // Cancels the stream in flight and joins the thread. Idempotent.
  void Stop();

  FollowerStatus status() const;

 private:
  void Run();
  // One Subscribe stream, until it ends. OK only when stopped.
  absl::Status FollowOnce();
  // Applies one response and updates the status.
  absl::Status Handle(v1::SubscribeResponse& response);
  // Notes the head a response reports, as it arrives.
  void SawHead(uint64_t head);
  // Counts a stream that ended with `ended`; returns true when the replica
  // has just stalled.
  bool NoteStreamEnd(const absl::Status& ended, bool progressed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  Replica& replica_;
  std::unique_ptr<v1::ChangeFeed::Stub> stub_;
  FollowerOptions options_;
  std::thread thread_;

  std::function<void(bool)> on_serving_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  FollowerStatus status_ ABSL_GUARDED_BY(mutex_);
  absl::Time last_lag_log_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  // Readiness as last reported through on_serving_.
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  // Something was applied during the current stream.
  bool progressed_ ABSL_GUARDED_BY(mutex_) = false;
  // Streams in a row that ended in an error counted toward a stall.
  int failures_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_FOLLOWER_H_

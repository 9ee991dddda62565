#ifndef KOURYU_QUERY_SERVICE_FOLLOWER_H_
#define KOURYU_QUERY_SERVICE_FOLLOWER_H_

// Follows the ingest server's change feed into a Replica: subscribes after
// the replica's applied sequence, applies each response as it arrives, and
// when the stream ends (ingest restarted, network gone) subscribes again
// with exponential backoff. Runs on its own thread between Start and Stop.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "query-service/replica.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace kouryu::query {

// A channel to the ingest server tuned for following: reconnects within
// at most a second after ingest comes back (gRPC's default backoff grows to
// two minutes) and notices a silent peer through keepalive pings.
std::shared_ptr<grpc::Channel> ConnectToIngest(const std::string& address);

struct FollowerOptions {
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // While behind, the lag is logged at most this often.
  absl::Duration lag_log_interval = absl::Seconds(10);
};

// Where the follower stands; see ReplicaStatus in query_service.proto.
struct FollowerStatus {
  uint64_t applied_sequence = 0;
  uint64_t head_sequence = 0;
  // Commit time of the last change applied (InfinitePast when none).
  absl::Time last_change_time = absl::InfinitePast();
  bool connected = false;
  bool caught_up_once = false;
};

class Follower {
 public:
  // `replica` must outlive the follower. `on_caught_up` runs (on the
  // follower's thread) the first time the replica reaches the head.
  Follower(Replica& replica, std::shared_ptr<grpc::ChannelInterface> channel,
           const FollowerOptions& options,
           std::function<void()> on_caught_up = nullptr);
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

  Replica& replica_;
  std::unique_ptr<v1::ChangeFeed::Stub> stub_;
  FollowerOptions options_;
  std::thread thread_;

  std::function<void()> on_caught_up_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  FollowerStatus status_ ABSL_GUARDED_BY(mutex_);
  absl::Time last_lag_log_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_FOLLOWER_H_

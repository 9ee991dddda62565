#ifndef KOURYU_QUERY_SERVICE_FOLLOWER_H_
#define KOURYU_QUERY_SERVICE_FOLLOWER_H_

// Follows the ingest server's change feed into a Replica: subscribes after
// the replica's applied sequence, applies each response as it arrives, and
// when the stream ends (ingest restarted, network gone) subscribes again
// with exponential backoff. Runs on its own thread between Start and Stop.

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
};

class Follower {
 public:
  // `replica` must outlive the follower.
  Follower(Replica& replica, std::shared_ptr<grpc::ChannelInterface> channel,
           const FollowerOptions& options);
  ~Follower();

  void Start();
  // Cancels the stream in flight and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();
  // One Subscribe stream, until it ends. OK only when stopped.
  absl::Status FollowOnce();

  Replica& replica_;
  std::unique_ptr<v1::ChangeFeed::Stub> stub_;
  FollowerOptions options_;
  std::thread thread_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_FOLLOWER_H_

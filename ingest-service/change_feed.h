#ifndef KOURYU_INGEST_SERVICE_CHANGE_FEED_H_
#define KOURYU_INGEST_SERVICE_CHANGE_FEED_H_

// kouryu.v1.ChangeFeed over a Store: a replica subscribes after the
// sequence it holds and gets the changes after it, in order, or a snapshot
// of every record first when the changelog no longer holds them (or the
// replica's history is another's); see change_feed.proto.

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ingest-service/store.h"
#include "ingest-service/watchdog.h"
#include "kouryu/v1/change_feed.grpc.pb.h"

namespace kouryu::ingest {

struct ChangeFeedOptions {
  // Subscribe streams at once; more fail with RESOURCE_EXHAUSTED (reason
  // TOO_MANY_SUBSCRIBERS). Each holds a server thread while it is open.
  int max_subscribers = 128;
  // A Subscribe whose reader takes nothing in for this long (a response
  // waits this long to be sent) is cancelled, freeing its thread.
  absl::Duration unread_timeout = absl::Minutes(1);
};

class ChangeFeedImpl final : public v1::ChangeFeed::Service {
 public:
  // `store` must outlive the service. Call store.StopWaiting() before the
  // server drains, or open Subscribe streams keep it waiting.
  explicit ChangeFeedImpl(const Store& store,
                          const ChangeFeedOptions& options = {})
      : store_(store), options_(options) {}

  grpc::Status Subscribe(grpc::ServerContext* context,
                         const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer)
      override;
  grpc::Status GetDigest(grpc::ServerContext* context,
                         const v1::GetDigestRequest* request,
                         v1::Digest* response) override;

 private:
  // Streams every record as of one sequence; returns that sequence.
  absl::StatusOr<uint64_t> SendSnapshot(
      grpc::ServerContext* context,
      grpc::ServerWriter<v1::SubscribeResponse>* writer);

  // writer->Write with the store's history ID set, cancelling the call
  // when the response cannot be sent within options_.unread_timeout.
  bool Write(grpc::ServerContext* context,
             grpc::ServerWriter<v1::SubscribeResponse>* writer,
             v1::SubscribeResponse& response);

  const Store& store_;
  const ChangeFeedOptions options_;
  std::atomic<int> subscribers_{0};
  Watchdog unread_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_CHANGE_FEED_H_

#include "query-service/follower.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kouryu::query {

std::shared_ptr<grpc::Channel> ConnectToIngest(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

Follower::Follower(Replica& replica,
                   std::shared_ptr<grpc::ChannelInterface> channel,
                   const FollowerOptions& options)
    : replica_(replica),
      stub_(v1::ChangeFeed::NewStub(channel)),
      options_(options) {}

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
    uint64_t before = replica_.applied_sequence();
    absl::Status status = FollowOnce();
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    // A stream that made progress was healthy: start the backoff afresh.
    if (replica_.applied_sequence() > before) {
      backoff = options_.initial_backoff;
    }
    std::fprintf(stderr,
                 "kouryu-query: change feed ended at sequence %llu (%s); "
                 "retrying in %s\n",
                 static_cast<unsigned long long>(replica_.applied_sequence()),
                 status.ToString().c_str(),
                 absl::FormatDuration(backoff).c_str());
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Follower::FollowOnce() {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return absl::OkStatus();
    context_ = &context;
  }
  v1::SubscribeRequest request;
  request.set_after_sequence(replica_.applied_sequence());
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(&context, request);
  v1::SubscribeResponse response;
  absl::Status applied = absl::OkStatus();
  while (reader->Read(&response)) {
    std::vector<v1::Change> changes;
    changes.reserve(response.changes_size());
    for (v1::Change& change : *response.mutable_changes()) {
      changes.push_back(std::move(change));
    }
    applied = replica_.Apply(changes);
    if (!applied.ok()) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status finished = reader->Finish();
  {
    absl::MutexLock lock(&mutex_);
    context_ = nullptr;
  }
  if (!applied.ok()) return applied;
  return absl::Status(static_cast<absl::StatusCode>(finished.error_code()),
                      finished.error_message());
}

}  // namespace kouryu::query

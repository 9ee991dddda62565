// The shared server bootstrap: connection age (--max_connection_age).

#include "common/server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

// One health call on `channel`; leaves it READY.
void CallHealth(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(stub->Check(&context, request, &response).ok());
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
}

// Whether the READY channel leaves READY (the server's GOAWAY) within `wait`.
bool LeavesReadyWithin(const std::shared_ptr<grpc::Channel>& channel,
                       absl::Duration wait) {
  return channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                     absl::ToChronoTime(absl::Now() + wait));
}

TEST(ServerTest, MaxConnectionAgeEndsOldConnections) {
  auto server = Server::Start({.listen = "127.0.0.1:0",
                               .name = "test",
                               .max_connection_age = absl::Milliseconds(500),
                               .max_connection_age_grace = absl::Seconds(1)},
                              {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  CallHealth(channel);
  EXPECT_TRUE(LeavesReadyWithin(channel, absl::Seconds(10)));
  // The client reconnects on its next call.
  CallHealth(channel);
}

TEST(ServerTest, ConnectionsLiveOnWithoutMaxConnectionAge) {
  auto server = Server::Start({.listen = "127.0.0.1:0", .name = "test"}, {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  CallHealth(channel);
  EXPECT_FALSE(LeavesReadyWithin(channel, absl::Seconds(2)));
}

}  // namespace
}  // namespace kouryu

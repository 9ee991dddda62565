#include "common/status.h"

#include <grpcpp/support/status.h>
#include <rocksdb/status.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/quote.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";

TEST(InvalidArgumentErrorTest, CarriesReasonAndViolations) {
  const std::vector<FieldViolation> violations = {
      {"rows[12].title", "is required"},
      {"rows[12].department", "does not begin with a bureau"},
  };
  absl::Status status =
      InvalidArgumentError("INVALID_RECORD", "rows[12].title is required",
                           violations);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "rows[12].title is required");
  EXPECT_EQ(ReasonOf(status), "INVALID_RECORD");
  EXPECT_EQ(ViolationsOf(status), violations);
}

TEST(InvalidArgumentErrorTest, WithoutViolations) {
  absl::Status status = InvalidArgumentError("BAD", "bad", {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(status), "BAD");
  EXPECT_THAT(ViolationsOf(status), IsEmpty());
}

TEST(WithReasonTest, AttachesAndReplacesTheReason) {
  absl::Status status = absl::NotFoundError("no record");
  EXPECT_EQ(ReasonOf(status), "");
  EXPECT_THAT(ViolationsOf(status), IsEmpty());

  status = WithReason(status, "RECORD_NOT_FOUND");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no record");
  EXPECT_EQ(ReasonOf(status), "RECORD_NOT_FOUND");

  status = WithReason(status, "OTHER");
  EXPECT_EQ(ReasonOf(status), "OTHER");
}

TEST(WithReasonTest, LeavesOkAlone) {
  absl::Status status = WithReason(absl::OkStatus(), "IGNORED");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(ReasonOf(status), "");
}

TEST(ToGrpcStatusTest, OkIsOk) {
  grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OK);
}

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  struct Case {
    absl::Status status;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {absl::InvalidArgumentError("m1"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("m2"), grpc::StatusCode::NOT_FOUND},
      {absl::AbortedError("m3"), grpc::StatusCode::ABORTED},
      {absl::DeadlineExceededError("m4"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::UnavailableError("m5"), grpc::StatusCode::UNAVAILABLE},
      {absl::ResourceExhaustedError("m6"),
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::InternalError("m7"), grpc::StatusCode::INTERNAL},
      {absl::FailedPreconditionError("m8"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::DataLossError("m9"), grpc::StatusCode::DATA_LOSS},
  };
  for (const Case& c : cases) {
    grpc::Status status = ToGrpcStatus(c.status);
    EXPECT_EQ(status.error_code(), c.code) << c.status;
    EXPECT_EQ(status.error_message(), std::string(c.status.message()));
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(status.error_details())) << c.status;
    EXPECT_EQ(details.code(), static_cast<int>(c.code));
    EXPECT_EQ(details.message(), std::string(c.status.message()));
    EXPECT_EQ(details.details_size(), 0);
  }
}

TEST(FromGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  const std::vector<std::pair<grpc::StatusCode, absl::StatusCode>> cases = {
      {grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled},
      {grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
      {grpc::StatusCode::DEADLINE_EXCEEDED,
       absl::StatusCode::kDeadlineExceeded},
      {grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
      {grpc::StatusCode::PERMISSION_DENIED,
       absl::StatusCode::kPermissionDenied},
      {grpc::StatusCode::RESOURCE_EXHAUSTED,
       absl::StatusCode::kResourceExhausted},
      {grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kUnimplemented},
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
      {grpc::StatusCode::UNAUTHENTICATED, absl::StatusCode::kUnauthenticated},
  };
  for (const auto& [grpc_code, code] : cases) {
    absl::Status status = FromGrpcStatus(grpc::Status(grpc_code, "m"));
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_EQ(status.message(), "m");
  }
  // A round trip keeps code and message; the details stay behind.
  absl::Status status = FromGrpcStatus(
      ToGrpcStatus(WithReason(absl::AbortedError("stale"), "ETAG_MISMATCH")));
  EXPECT_EQ(status, absl::AbortedError("stale"));
}

TEST(ToGrpcStatusTest, PacksErrorInfoAndBadRequest) {
  absl::Status status = InvalidArgumentError(
      "INVALID_ENCODING", "line 3: bytes that are not valid UTF-8",
      {{"rows[3].column[2]", "bytes that are not valid UTF-8"}});
  grpc::Status grpc_status = ToGrpcStatus(status);
  EXPECT_EQ(grpc_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(grpc_status.error_message(),
            "line 3: bytes that are not valid UTF-8");

  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(grpc_status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), "line 3: bytes that are not valid UTF-8");

  std::vector<std::string> type_urls;
  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad_request;
  for (const google::protobuf::Any& any : details.details()) {
    type_urls.push_back(any.type_url());
    if (any.type_url() == kErrorInfoUrl) {
      ASSERT_TRUE(any.UnpackTo(&info));
    } else if (any.type_url() == kBadRequestUrl) {
      ASSERT_TRUE(any.UnpackTo(&bad_request));
    }
  }
  EXPECT_THAT(type_urls, UnorderedElementsAre(kErrorInfoUrl, kBadRequestUrl));
  EXPECT_EQ(info.reason(), "INVALID_ENCODING");
  EXPECT_EQ(info.domain(), std::string(kErrorDomain));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "rows[3].column[2]");
  EXPECT_EQ(bad_request.field_violations(0).description(),
            "bytes that are not valid UTF-8");
}

TEST(ToGrpcStatusTest, ReasonOnlyPacksErrorInfo) {
  grpc::Status grpc_status =
      ToGrpcStatus(WithReason(absl::AbortedError("stale"), "ETAG_MISMATCH"));
  EXPECT_EQ(grpc_status.error_code(), grpc::StatusCode::ABORTED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(grpc_status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), kErrorInfoUrl);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "ETAG_MISMATCH");
}

TEST(FromRocksDbTest, MapsCodes) {
  struct Case {
    std::string description;
    rocksdb::Status status;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"ok", rocksdb::Status::OK(), absl::StatusCode::kOk},
      {"no space", rocksdb::Status::NoSpace("disk full"),
       absl::StatusCode::kResourceExhausted},
      {"space limit", rocksdb::Status::IOError(rocksdb::Status::kSpaceLimit),
       absl::StatusCode::kResourceExhausted},
      {"corruption", rocksdb::Status::Corruption("bad block"),
       absl::StatusCode::kInternal},
      {"io error", rocksdb::Status::IOError("read failed"),
       absl::StatusCode::kUnavailable},
      {"busy", rocksdb::Status::Busy("busy"), absl::StatusCode::kUnavailable},
      {"not found", rocksdb::Status::NotFound("x"),
       absl::StatusCode::kNotFound},
      {"invalid argument", rocksdb::Status::InvalidArgument("x"),
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    absl::Status status = FromRocksDb(c.status, "writing records");
    EXPECT_EQ(status.code(), c.code) << c.description << ": " << status;
    if (!c.status.ok()) {
      EXPECT_THAT(std::string(status.message()), HasSubstr("writing records"))
          << c.description;
    }
  }
}

TEST(FromRocksDbTest, StorageErrorsCarryAReason) {
  EXPECT_NE(ReasonOf(FromRocksDb(rocksdb::Status::NoSpace(), "x")), "");
  EXPECT_NE(ReasonOf(FromRocksDb(rocksdb::Status::Corruption("c"), "x")), "");
  EXPECT_NE(ReasonOf(FromRocksDb(rocksdb::Status::IOError("i"), "x")), "");
}

TEST(MetadataTest, InvalidArgumentNamesTheFirstFieldAndKeepsTheRest) {
  absl::Status status = InvalidArgumentError(
      "INVALID_ROWS", "2 problems",
      {{"rows[4].title", "is required"}, {"rows[9].category", "is required"}},
      {{"violations", "2"}});
  EXPECT_EQ(MetadataOf(status), (ErrorMetadata{{"field", "rows[4].title"},
                                               {"violations", "2"}}));
  // A caller's own "field" wins.
  status = InvalidArgumentError("X", "x", {{"a", "b"}}, {{"field", "c"}});
  EXPECT_EQ(MetadataOf(status), (ErrorMetadata{{"field", "c"}}));
  EXPECT_THAT(MetadataOf(InvalidArgumentError("X", "x", {})), IsEmpty());
  EXPECT_THAT(MetadataOf(absl::NotFoundError("x")), IsEmpty());
}

TEST(MetadataTest, TravelsInErrorInfoThroughGrpcStatus) {
  absl::Status status = WithReason(absl::DeadlineExceededError("behind"),
                                   "REPLICA_BEHIND",
                                   {{"minSequence", "9"}, {"appliedSequence", "4"}});
  grpc::Status grpc_status = ToGrpcStatus(status);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(grpc_status.error_details()));
  google::rpc::ErrorInfo info;
  for (const auto& any : details.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      ASSERT_TRUE(any.UnpackTo(&info));
    }
  }
  EXPECT_EQ(info.reason(), "REPLICA_BEHIND");
  EXPECT_EQ(info.domain(), "kouryu.v1");
  EXPECT_EQ(info.metadata().size(), 2u);
  EXPECT_EQ(info.metadata().at("minSequence"), "9");
  EXPECT_EQ(info.metadata().at("appliedSequence"), "4");
}

TEST(MetadataTest, LongValuesAreCutShort) {
  const std::string etag(4 << 20, 'e');
  absl::Status status = WithReason(absl::AbortedError("stale"), "ETAG_MISMATCH",
                                   {{"etag", etag}, {"name", "cities/paris"}});
  ErrorMetadata metadata = MetadataOf(status);
  EXPECT_EQ(metadata["name"], "cities/paris");
  EXPECT_LE(metadata["etag"].size(), 4 * kMaxQuotedBytes + 24);
  EXPECT_THAT(metadata["etag"], testing::HasSubstr("(4194304 bytes)"));
  grpc::Status grpc_status = ToGrpcStatus(status);
  EXPECT_LT(grpc_status.error_details().size(), 1024u);
}

TEST(MetadataTest, ManyViolationsAreListedUpToTheCap) {
  std::vector<FieldViolation> violations;
  for (int i = 1; i <= 5000; ++i) {
    violations.push_back({absl::StrCat("rows[", i, "].department"),
                          "does not begin with a bureau the gazetteer knows"});
  }
  absl::Status status =
      InvalidArgumentError("INVALID_ROWS", "5000 problem(s)", violations);
  EXPECT_EQ(ViolationsOf(status).size(), kMaxFieldViolations);
  EXPECT_EQ(ViolationsOf(status).front().field, "rows[1].department");
  ErrorMetadata metadata = MetadataOf(status);
  EXPECT_EQ(metadata["violationCount"], "5000");
  EXPECT_EQ(metadata["violationsListed"], "100");
  EXPECT_LT(ToGrpcStatus(status).error_details().size(), 16u << 10);
}

}  // namespace
}  // namespace kouryu

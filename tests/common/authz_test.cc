// The gRFC A43 policy evaluator (common/authz.h): parsing errors, and
// decisions from a table of peers, paths and headers.

#include "common/authz.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace kouryu {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"json({
  "name": "test",
  "deny_rules": [
    {"name": "no-deletes-by-interns",
     "source": {"principals": ["*/intern"]},
     "request": {"paths": ["/kouryu.v1.IngestService/DeleteRecord"]}}
  ],
  "allow_rules": [
    {"name": "writers",
     "source": {"principals": ["spiffe://kouryu.local/writer", "*/intern"]},
     "request": {"paths": ["/kouryu.v1.IngestService/*"]}},
    {"name": "dns-reader",
     "source": {"principals": ["reader.example.org"]},
     "request": {"paths": ["/kouryu.v1.QueryService/GetRecord"]}},
    {"name": "subject-reader",
     "source": {"principals": ["CN=legacy,O=kouryu"]},
     "request": {"paths": ["/kouryu.v1.QueryService/*"]}},
    {"name": "team-header",
     "source": {"principals": ["*"]},
     "request": {"paths": ["/kouryu.v1.QueryService/ListCities"],
                 "headers": [{"key": "X-Team", "values": ["data-*"]}]}},
    {"name": "health",
     "request": {"paths": ["/grpc.health.v1.Health/*"]}}
  ]
})json";

Peer Uri(const std::string& uri) {
  return {.authenticated = true, .uri_sans = {uri}, .subject = "CN=x,O=kouryu"};
}
Peer Dns(const std::string& dns) {
  return {.authenticated = true, .dns_sans = {dns}, .subject = "CN=y,O=kouryu"};
}
Peer Subject(const std::string& subject) {
  return {.authenticated = true, .subject = subject};
}

struct Case {
  std::string what;
  Peer peer;
  std::string path;
  Headers headers;
  bool allowed;
  std::string rule;
};

TEST(AuthorizationPolicyTest, Decisions) {
  auto policy = AuthorizationPolicy::Parse(kPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::vector<Case> cases = {
      {"writer writes",
       Uri("spiffe://kouryu.local/writer"),
       "/kouryu.v1.IngestService/UpsertRecord",
       {},
       true,
       "writers"},
      {"writer may not read",
       Uri("spiffe://kouryu.local/writer"),
       "/kouryu.v1.QueryService/GetRecord",
       {},
       false,
       ""},
      {"a prefix of the path is not the path",
       Uri("spiffe://kouryu.local/writer"),
       "/kouryu.v1.IngestServiceX/UpsertRecord",
       {},
       false,
       ""},
      {"suffix principal",
       Uri("spiffe://other/intern"),
       "/kouryu.v1.IngestService/UpsertRecord",
       {},
       true,
       "writers"},
      {"deny rule first",
       Uri("spiffe://other/intern"),
       "/kouryu.v1.IngestService/DeleteRecord",
       {},
       false,
       "no-deletes-by-interns"},
      {"DNS SAN",
       Dns("reader.example.org"),
       "/kouryu.v1.QueryService/GetRecord",
       {},
       true,
       "dns-reader"},
      {"DNS SAN, other method",
       Dns("reader.example.org"),
       "/kouryu.v1.QueryService/ListRecords",
       {},
       false,
       ""},
      {"subject",
       Subject("CN=legacy,O=kouryu"),
       "/kouryu.v1.QueryService/ListRecords",
       {},
       true,
       "subject-reader"},
      {"subject of a peer with URI SANs still matches",
       Peer{.authenticated = true,
            .uri_sans = {"spiffe://a/b"},
            .subject = "CN=legacy,O=kouryu"},
       "/kouryu.v1.QueryService/ListRecords",
       {},
       true,
       "subject-reader"},
      {"header matches",
       Uri("spiffe://a/b"),
       "/kouryu.v1.QueryService/ListCities",
       {{"x-team", "data-eng"}},
       true,
       "team-header"},
      {"header does not match",
       Uri("spiffe://a/b"),
       "/kouryu.v1.QueryService/ListCities",
       {{"x-team", "ops"}},
       false,
       ""},
      {"header absent",
       Uri("spiffe://a/b"),
       "/kouryu.v1.QueryService/ListCities",
       {},
       false,
       ""},
      {"repeated header values are joined",
       Uri("spiffe://a/b"),
       "/kouryu.v1.QueryService/ListCities",
       {{"x-team", "data-eng"}, {"x-team", "ops"}},
       true,
       "team-header"},
      {"\"*\" needs a certificate",
       Peer{},
       "/kouryu.v1.QueryService/ListCities",
       {{"x-team", "data-eng"}},
       false,
       ""},
      {"a rule without principals admits a peer without a certificate",
       Peer{},
       "/grpc.health.v1.Health/Check",
       {},
       true,
       "health"},
      {"an unauthenticated peer matches no principal",
       Peer{.authenticated = false,
            .uri_sans = {"spiffe://kouryu.local/writer"}},
       "/kouryu.v1.IngestService/UpsertRecord",
       {},
       false,
       ""},
  };
  for (const Case& c : cases) {
    Decision d = policy->Evaluate(c.peer, c.path, c.headers);
    EXPECT_EQ(d.allowed, c.allowed) << c.what;
    EXPECT_EQ(d.rule, c.rule) << c.what;
  }
}

TEST(AuthorizationPolicyTest, PrincipalForLogs) {
  EXPECT_EQ(Uri("spiffe://a/b").Principal(), "spiffe://a/b");
  EXPECT_EQ(Dns("x.example").Principal(), "x.example");
  EXPECT_EQ(Subject("CN=z").Principal(), "CN=z");
  EXPECT_EQ(Peer{}.Principal(), "an unauthenticated peer");
}

TEST(AuthorizationPolicyTest, MalformedPoliciesNameWhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not JSON: parse error at line 1, column 2"},
      {"[]", "(policy): expected an object, got array"},
      {R"({"allow_rules": []})", "name: required"},
      {R"({"name": "p"})", "allow_rules: required"},
      {R"({"name": "p", "allow_rules": [], "deny": []})",
       "deny: unknown field"},
      {R"({"name": "p", "allow_rules": [{"source": {}}]})",
       "allow_rules[0].name: required"},
      {R"({"name": "p", "allow_rules": [{"name": "r", "sorce": {}}]})",
       "allow_rules[0].sorce: unknown field"},
      {R"({"name": "p", "allow_rules": [{"name": "r",
           "source": {"principals": ["a", 3]}}]})",
       "allow_rules[0].source.principals[1]: expected a string, got number"},
      {R"({"name": "p", "allow_rules": [{"name": "r",
           "request": {"paths": []}}]})",
       "allow_rules[0].request.paths: empty array"},
      {R"({"name": "p", "allow_rules": [{"name": "r",
           "request": {"headers": [{"key": ":path", "values": ["x"]}]}}]})",
       "allow_rules[0].request.headers[0].key: \":path\" cannot be matched"},
      {R"({"name": "p", "allow_rules": [{"name": "r",
           "request": {"headers": [{"key": "grpc-timeout", "values": ["x"]}]}}]})",
       "cannot be matched"},
      {R"({"name": "p", "allow_rules": [], "deny_rules": [{"name": ""}]})",
       "deny_rules[0].name: empty string"},
  };
  for (const auto& [json, message] : cases) {
    auto policy = AuthorizationPolicy::Parse(json);
    ASSERT_FALSE(policy.ok()) << json;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(), HasSubstr(message)) << json;
  }
}

TEST(AuthorizationPolicyTest, AllowRulesMayBeEmptyAndDenyEverything) {
  auto policy =
      AuthorizationPolicy::Parse(R"({"name": "p", "allow_rules": []})");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE(
      policy->Evaluate(Uri("spiffe://a/b"), "/grpc.health.v1.Health/Check", {})
          .allowed);
}

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path + ".tmp") << content;
  std::filesystem::rename(path + ".tmp", path);
}

TEST(PolicyFileTest, ReloadKeepsThePolicyInForceOnABadChange) {
  testing::ScopedTempDir dir;
  const std::string path = dir.path() + "/policy.json";
  Write(path, R"({"name": "one", "allow_rules": []})");
  auto file = PolicyFile::Load(path, absl::ZeroDuration(), "test");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->current()->name(), "one");

  EXPECT_TRUE((*file)->Reload().ok());  // Unchanged.
  Write(path, R"({"name": "two", "allow_rules": []})");
  EXPECT_TRUE((*file)->Reload().ok());
  EXPECT_EQ((*file)->current()->name(), "two");

  Write(path, R"({"name": "three", "allow_rules": [)");
  absl::Status bad = (*file)->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr(path + ": not JSON"));
  EXPECT_EQ((*file)->current()->name(), "two");

  std::filesystem::remove(path);
  EXPECT_FALSE((*file)->Reload().ok());
  EXPECT_EQ((*file)->current()->name(), "two");
  Write(path, R"({"name": "four", "allow_rules": []})");
  EXPECT_TRUE((*file)->Reload().ok());
  EXPECT_EQ((*file)->current()->name(), "four");
}

TEST(PolicyFileTest, LoadFailsOnAMissingOrMalformedFile) {
  testing::ScopedTempDir dir;
  const std::string path = dir.path() + "/policy.json";
  auto missing = PolicyFile::Load(path, absl::ZeroDuration(), "test");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("authorization policy " + path + ": cannot be read"));
  Write(path, R"({"name": "x", "allow_rules": [{"name": 1}]})");
  auto malformed = PolicyFile::Load(path, absl::ZeroDuration(), "test");
  ASSERT_FALSE(malformed.ok());
  EXPECT_THAT(malformed.status().message(),
              HasSubstr(path + ": allow_rules[0].name: expected a string"));
}

TEST(PolicyFileTest, TheExamplePolicyParses) {
  auto file = PolicyFile::Load(
      std::string(KOURYU_SOURCE_DIR) +
          "/deploy/kubernetes/components/tls/authz-policy.json",
      absl::ZeroDuration(), "test");
  ASSERT_TRUE(file.ok()) << file.status();
  auto policy = (*file)->current();
  EXPECT_TRUE(policy
                  ->Evaluate(Uri("spiffe://kouryu.local/operator"),
                             "/kouryu.v1.AdminService/CreateBackup", {})
                  .allowed);
  EXPECT_FALSE(policy
                   ->Evaluate(Uri("spiffe://kouryu.local/operator"),
                              "/kouryu.v1.IngestService/UpsertRecord", {})
                   .allowed);
  EXPECT_TRUE(policy
                  ->Evaluate(Uri("spiffe://kouryu.local/reader"),
                             "/grpc.reflection.v1alpha.ServerReflection/"
                             "ServerReflectionInfo",
                             {})
                  .allowed);
}

}  // namespace
}  // namespace kouryu

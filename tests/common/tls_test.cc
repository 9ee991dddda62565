// TLS credentials (common/tls.h): the files are checked when credentials
// are made, and a mistake names the file and what is wrong with it.
// Certificates are made at run time by scripts/make-certs.sh.

#include "common/tls.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/certs.h"
#include "tests/support/temp_dir.h"

namespace kouryu {
namespace {

using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = testing::MakeTestCertificates(dir_.path() + "/certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    empty_ = dir_.path() + "/empty.pem";
    std::ofstream(empty_).flush();
    garbage_ = dir_.path() + "/garbage.pem";
    std::ofstream(garbage_) << "not a certificate\n";
  }

  testing::ScopedTempDir dir_;
  testing::TestCertificates certs_;
  std::string empty_, garbage_;
};

TEST_F(TlsTest, ServerCredentials) {
  const auto& s = certs_.ingest;
  struct Case {
    ServerTlsOptions options;
    std::string error;  // "" when it must succeed
  };
  const std::vector<Case> cases = {
      {{.cert_file = s.cert, .key_file = s.key}, ""},
      {{.cert_file = s.cert,
        .key_file = s.key,
        .ca_file = certs_.ca,
        .client_auth = ClientAuth::kRequire},
       ""},
      {{.cert_file = s.cert, .key_file = ""},
       "needs both --tls_cert and --tls_key"},
      {{.cert_file = s.cert, .key_file = dir_.path() + "/missing.key"},
       "server key " + dir_.path() + "/missing.key: cannot be read"},
      {{.cert_file = empty_, .key_file = s.key},
       "server certificate " + empty_ + ": is empty"},
      {{.cert_file = garbage_, .key_file = s.key},
       "server certificate " + garbage_ + ": holds no PEM certificate"},
      {{.cert_file = s.cert, .key_file = garbage_},
       "server key " + garbage_ + ": holds no unencrypted PEM private key"},
      {{.cert_file = s.cert, .key_file = certs_.query.key},
       "does not belong to the certificate in " + s.cert},
      {{.cert_file = s.cert,
        .key_file = s.key,
        .client_auth = ClientAuth::kRequire},
       "--client_auth=require needs --tls_ca"},
      {{.cert_file = s.cert, .key_file = s.key, .ca_file = certs_.ca},
       "--tls_ca is set but --client_auth=none"},
      {{.cert_file = s.cert,
        .key_file = s.key,
        .ca_file = garbage_,
        .client_auth = ClientAuth::kRequest},
       "client CA " + garbage_ + ": holds no PEM certificate"},
  };
  for (const Case& c : cases) {
    auto credentials = MakeServerCredentials(c.options);
    if (c.error.empty()) {
      EXPECT_TRUE(credentials.ok()) << credentials.status();
    } else {
      ASSERT_FALSE(credentials.ok()) << c.error;
      EXPECT_EQ(credentials.status().code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(credentials.status().message(), HasSubstr(c.error));
    }
  }
}

TEST_F(TlsTest, ChannelSecurity) {
  EXPECT_TRUE(MakeChannelSecurity({.ca_file = certs_.ca}).ok());
  EXPECT_TRUE(MakeChannelSecurity({.ca_file = certs_.ca,
                                   .cert_file = certs_.writer.cert,
                                   .key_file = certs_.writer.key})
                  .ok());
  EXPECT_TRUE(MakeChannelSecurity({.insecure_skip_verify = true}).ok());
  auto half = MakeChannelSecurity({.cert_file = certs_.writer.cert});
  EXPECT_THAT(half.status().message(),
              HasSubstr("both its certificate and its key"));
  auto wrong = MakeChannelSecurity(
      {.cert_file = certs_.writer.cert, .key_file = certs_.reader.key});
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("client key " + certs_.reader.key +
                        ": does not belong to the certificate"));
  auto ca = MakeChannelSecurity({.ca_file = garbage_});
  EXPECT_THAT(ca.status().message(), HasSubstr("server CA " + garbage_));
}

TEST(ClientAuthTest, Names) {
  for (ClientAuth auth :
       {ClientAuth::kNone, ClientAuth::kRequest, ClientAuth::kRequire}) {
    auto parsed = ParseClientAuth(ClientAuthName(auth));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, auth);
  }
  EXPECT_THAT(ParseClientAuth("optional").status().message(),
              HasSubstr("expected none, request or require"));
}

}  // namespace
}  // namespace kouryu

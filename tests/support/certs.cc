#include "tests/support/certs.h"

#include "absl/strings/str_cat.h"
#include "tests/support/process.h"

namespace kouryu::testing {
namespace {

absl::Status Run(std::vector<std::string> argv) {
  CommandResult result = RunCommand(argv);
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        KOURYU_MAKE_CERTS, " failed with exit code ", result.exit_code,
        " (its standard error is in the test log)"));
  }
  return absl::OkStatus();
}

}  // namespace

CertFiles CertFilesIn(const std::string& dir) {
  return {.dir = dir,
          .cert = dir + "/tls.crt",
          .key = dir + "/tls.key",
          .ca = dir + "/ca.crt"};
}

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  if (absl::Status s = Run({"/bin/bash", KOURYU_MAKE_CERTS, dir}); !s.ok()) {
    return s;
  }
  TestCertificates certs;
  certs.dir = dir;
  certs.ca = dir + "/ca.crt";
  certs.ingest = CertFilesIn(dir + "/kouryu-ingest");
  certs.query = CertFilesIn(dir + "/kouryu-query");
  certs.writer = CertFilesIn(dir + "/writer");
  certs.reader = CertFilesIn(dir + "/reader");
  certs.replica = CertFilesIn(dir + "/replica");
  certs.operator_ = CertFilesIn(dir + "/operator");
  certs.other_ca_writer = CertFilesIn(dir + "/other-ca/writer");
  return certs;
}

absl::StatusOr<CertFiles> IssueCertificate(
    const TestCertificates& certs, const std::string& name,
    const std::vector<std::string>& options) {
  std::vector<std::string> argv = {"/bin/bash", KOURYU_MAKE_CERTS, "--issue",
                                   name};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(certs.dir);
  if (absl::Status s = Run(argv); !s.ok()) return s;
  return CertFilesIn(certs.dir + "/" + name);
}

}  // namespace kouryu::testing

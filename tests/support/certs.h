#ifndef KOURYU_TESTS_SUPPORT_CERTS_H_
#define KOURYU_TESTS_SUPPORT_CERTS_H_

// Test certificates, made at run time by scripts/make-certs.sh (openssl)
// into a directory the test owns; never committed.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kouryu::testing {

// One certificate directory in the Secret layout.
struct CertFiles {
  std::string dir;
  std::string cert;  // dir/tls.crt
  std::string key;   // dir/tls.key
  std::string ca;    // dir/ca.crt, the CA that issued it
};

// What scripts/make-certs.sh makes (see there): servers with DNS SANs for
// the Services and localhost, IP SAN 127.0.0.1; clients with URI SANs
// spiffe://kouryu.local/{writer,reader,replica,operator}; and a writer
// certificate from another CA.
struct TestCertificates {
  std::string dir;
  std::string ca;  // dir/ca.crt
  CertFiles ingest, query, writer, reader, replica, operator_, other_ca_writer;
};

CertFiles CertFilesIn(const std::string& dir);

// Runs scripts/make-certs.sh into `dir` (which may exist).
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

// One more certificate from `certs.dir`'s CA into certs.dir/name, with
// `options` as make-certs.sh takes them after --issue NAME ("--server",
// "--cn", "x", "--dns", "localhost", ...).
absl::StatusOr<CertFiles> IssueCertificate(
    const TestCertificates& certs, const std::string& name,
    const std::vector<std::string>& options);

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_CERTS_H_

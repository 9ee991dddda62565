#include "cli/channel.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/server.h"

namespace kouryu::cli {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::string reason;
  if (in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (!in.bad()) return buffer.str();
  }
  const int error = errno;
  std::string message =
      absl::StrCat("cannot read ", path, ": ",
                   error != 0 ? std::strerror(error) : "unknown error");
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const TransportOptions& options) {
  if (!options.UsesTls()) return grpc::InsecureChannelCredentials();
  if (options.plaintext) {
    return absl::InvalidArgumentError(
        "-plaintext cannot be combined with -cacert, -cert, -key, -servername "
        "or -insecure");
  }
  if (options.cert.empty() != options.key.empty()) {
    return absl::InvalidArgumentError(
        "-cert and -key go together: the client certificate needs its key");
  }
  std::string roots, cert, key;
  if (!options.cacert.empty()) {
    absl::StatusOr<std::string> read = ReadWholeFile(options.cacert);
    if (!read.ok()) return read.status();
    roots = *std::move(read);
  }
  if (!options.cert.empty()) {
    absl::StatusOr<std::string> read_cert = ReadWholeFile(options.cert);
    if (!read_cert.ok()) return read_cert.status();
    absl::StatusOr<std::string> read_key = ReadWholeFile(options.key);
    if (!read_key.ok()) return read_key.status();
    cert = *std::move(read_cert);
    key = *std::move(read_key);
  }
  if (!options.insecure) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = roots;
    ssl.pem_cert_chain = cert;
    ssl.pem_private_key = key;
    return grpc::SslCredentials(ssl);
  }
  // -insecure: TLS, but any server certificate is accepted.
  namespace tls = grpc::experimental;
  tls::TlsChannelCredentialsOptions tls_options;
  tls_options.set_verify_server_certs(false);
  tls_options.set_check_call_host(false);
  tls_options.set_certificate_verifier(
      std::make_shared<tls::NoOpCertificateVerifier>());
  if (!cert.empty() || !roots.empty()) {
    std::vector<tls::IdentityKeyCertPair> pairs;
    if (!cert.empty()) pairs.push_back({key, cert});
    tls_options.set_certificate_provider(
        std::make_shared<tls::StaticDataCertificateProvider>(roots, pairs));
    if (!roots.empty()) tls_options.watch_root_certs();
    if (!cert.empty()) tls_options.watch_identity_key_cert_pairs();
  }
  auto credentials = tls::TlsCredentials(tls_options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("gRPC refused the TLS options");
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const TransportOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeCredentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  if (!options.servername.empty()) {
    args.SetSslTargetNameOverride(options.servername);
  }
  return grpc::CreateCustomChannel(address, *credentials, args);
}

}  // namespace kouryu::cli

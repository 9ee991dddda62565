#ifndef KOURYU_CLI_CHANNEL_H_
#define KOURYU_CLI_CHANNEL_H_

// The channel kouryu-cli talks over, from grpcurl's transport flags.
//
// Plaintext unless a TLS flag is given: -cacert, -cert, -key, -servername
// or -insecure each turn TLS on. -plaintext says so explicitly and may not
// be combined with them.
//   -cacert FILE      PEM roots that verify the server (default: the
//                     system's roots, as gRPC finds them)
//   -cert FILE, -key FILE
//                     PEM certificate chain and private key the client
//                     presents (mutual TLS); both or neither
//   -servername NAME  the name the server's certificate is checked against
//                     (and sent as SNI) instead of the address's host
//   -insecure         TLS without verifying the server's certificate
//                     (encryption only; for tests)

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kouryu::cli {

struct TransportOptions {
  bool plaintext = false;
  std::string cacert{};
  std::string cert{};
  std::string key{};
  std::string servername{};
  bool insecure = false;

  bool UsesTls() const {
    return !cacert.empty() || !cert.empty() || !key.empty() ||
           !servername.empty() || insecure;
  }
};

// The credentials the options describe. InvalidArgument for conflicting
// flags (-plaintext with a TLS flag, -cert without -key); NotFound or
// PermissionDenied, with the system's reason, for a file that cannot be
// read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const TransportOptions& options);

// A channel to `address` with those credentials, accepting answers up to
// the servers' message limit (kMaxMessageBytes), not gRPC's 4 MiB default.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const TransportOptions& options);

// The whole of a file, or an error naming it with the system's reason
// (strerror), e.g. "cannot read ca.pem: No such file or directory".
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_CHANNEL_H_

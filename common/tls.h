#ifndef KOURYU_COMMON_TLS_H_
#define KOURYU_COMMON_TLS_H_

// Transport security, defined once for both servers, kouryu-query's dial to
// kouryu-ingest and kouryu-cli: certificates are PEM files (the layout of a
// cert-manager or kubernetes.io/tls Secret: tls.crt, tls.key, ca.crt) that
// gRPC's FileWatcherCertificateProvider rereads every `refresh_interval`, so
// that a rotated certificate serves new connections without a restart.
//
// Rotation is atomic only when the key and the certificate change together:
// swap a directory symlink (as Kubernetes does for a mounted Secret) or
// rename a directory, never rewrite the files one after the other in place.
//
// The files are checked once when credentials are made (readable, PEM that
// parses, the key belongs to the certificate), so that a mistake fails at
// start with a message naming the file, rather than at every handshake.

#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class AuthMetadataProcessor;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace kouryu {

// Whether a server asks clients for a certificate (--client_auth). A
// certificate a client presents is always verified against the CA.
enum class ClientAuth {
  kNone,     // not asked for
  kRequest,  // asked for; a client without one may connect
  kRequire,  // a client without a valid certificate is refused
};

// "none", "request" or "require".
absl::StatusOr<ClientAuth> ParseClientAuth(absl::string_view text);
absl::string_view ClientAuthName(ClientAuth auth);

struct ServerTlsOptions {
  // The server's certificate chain and private key (required).
  std::string cert_file{};
  std::string key_file{};
  // CA bundle that client certificates must chain to; required unless
  // client_auth is kNone, and refused with kNone (it would do nothing).
  std::string ca_file{};
  ClientAuth client_auth = ClientAuth::kNone;
  // How often the three files are reread (whole seconds, at least 1).
  absl::Duration refresh_interval = absl::Minutes(1);
};

// TLS server credentials. `authorizer`, when not null, decides every call
// (common/authz.h). Fails with INVALID_ARGUMENT naming the file and what is
// wrong with it.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options,
    std::shared_ptr<grpc::AuthMetadataProcessor> authorizer = nullptr);

// A client's side, in grpcurl's terms (-cacert, -cert, -key, -servername,
// -insecure).
struct ClientTlsOptions {
  // CA bundle the server's certificate must chain to; empty: the system's
  // roots.
  std::string ca_file{};
  // The client's certificate and key, both or neither (mutual TLS).
  std::string cert_file{};
  std::string key_file{};
  // The name the server's certificate must carry (and sent as SNI) instead
  // of the host of the address dialled.
  std::string server_name{};
  // Accept any server certificate: encrypted but not authenticated, for
  // debugging only.
  bool insecure_skip_verify = false;
  absl::Duration refresh_interval = absl::Minutes(1);
};

// What a channel needs: credentials and the arguments that go with them
// (the server name override). Add the arguments to the channel's own.
struct ChannelSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;
};

// Plaintext: insecure credentials, no arguments.
ChannelSecurity PlaintextChannel();

// TLS channel credentials; fails with INVALID_ARGUMENT naming the file and
// what is wrong with it.
absl::StatusOr<ChannelSecurity> MakeChannelSecurity(
    const ClientTlsOptions& options);

}  // namespace kouryu

#endif  // KOURYU_COMMON_TLS_H_

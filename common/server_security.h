#ifndef KOURYU_COMMON_SERVER_SECURITY_H_
#define KOURYU_COMMON_SERVER_SECURITY_H_

// The security flags both servers share, defined once here (main() passes
// what ServerCredentialsFromFlags makes and --health_listen into
// ServerOptions):
//
//   --tls_cert, --tls_key    the server's certificate and key (PEM); TLS
//                            on the main port when set, plaintext otherwise
//   --tls_ca                 CA bundle client certificates must chain to
//   --client_auth            none | request | require; default: require
//                            with --tls_ca, none without
//   --authz_policy=FILE      gRFC A43 policy deciding every call
//                            (common/authz.h), reread when it changes
//   --authz_allow_all        with TLS and no policy: allow every call
//   --security_reload_interval   how often the files above are reread
//   --health_listen          plaintext port with grpc.health.v1 only
//
// With TLS on, a server refuses to start without --authz_policy or an
// explicit --authz_allow_all: otherwise any peer the handshake admits
// could write.

#include <functional>
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, client_auth);
ABSL_DECLARE_FLAG(std::string, authz_policy);
ABSL_DECLARE_FLAG(bool, authz_allow_all);
ABSL_DECLARE_FLAG(absl::Duration, security_reload_interval);
ABSL_DECLARE_FLAG(std::string, health_listen);

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace kouryu {

// The main port's credentials from the flags above: null for plaintext;
// TLS credentials (with the policy's authorizer, when there is one)
// otherwise. Logs to stderr, prefixed with `log_name`, what is in force.
// INVALID_ARGUMENT for flags that do not go together, files that cannot
// be read or do not parse, naming the flag or the file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
ServerCredentialsFromFlags(
    const std::string& log_name,
    std::function<void(const std::string& path)> on_denied = nullptr);

}  // namespace kouryu

#endif  // KOURYU_COMMON_SERVER_SECURITY_H_

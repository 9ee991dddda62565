#include "common/server_security.h"

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/authz.h"
#include "common/tls.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the server; with --tls_key, the main "
          "port speaks TLS (plaintext otherwise)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle that client certificates must chain to");
ABSL_FLAG(std::string, client_auth, "",
          "none|request|require: whether clients must present a certificate; "
          "default require with --tls_ca, none without");
ABSL_FLAG(std::string, authz_policy, "",
          "gRFC A43 JSON authorization policy deciding every call (needs "
          "TLS); reread when it changes, a bad change keeps the old policy");
ABSL_FLAG(bool, authz_allow_all, false,
          "with TLS and no --authz_policy, allow every call of every peer "
          "the handshake admits (without it such a server refuses to start)");
ABSL_FLAG(absl::Duration, security_reload_interval, absl::Minutes(1),
          "how often --tls_cert, --tls_key, --tls_ca and --authz_policy "
          "(and kouryu-query's --ingest_tls_* files) are reread");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext port serving only grpc.health.v1 (for "
          "probes when the main port speaks TLS); none when empty");

namespace kouryu {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
ServerCredentialsFromFlags(
    const std::string& log_name,
    std::function<void(const std::string& path)> on_denied) {
  ServerTlsOptions tls{
      .cert_file = absl::GetFlag(FLAGS_tls_cert),
      .key_file = absl::GetFlag(FLAGS_tls_key),
      .ca_file = absl::GetFlag(FLAGS_tls_ca),
      .refresh_interval = absl::GetFlag(FLAGS_security_reload_interval)};
  const std::string client_auth = absl::GetFlag(FLAGS_client_auth);
  const std::string policy_file = absl::GetFlag(FLAGS_authz_policy);
  const bool allow_all = absl::GetFlag(FLAGS_authz_allow_all);
  if (tls.cert_file.empty() && tls.key_file.empty()) {
    for (const auto& [flag, set] :
         {std::pair{"--tls_ca", !tls.ca_file.empty()},
          std::pair{"--client_auth", !client_auth.empty()},
          std::pair{"--authz_policy", !policy_file.empty()},
          std::pair{"--authz_allow_all", allow_all}}) {
      if (set) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, " needs TLS: give --tls_cert and --tls_key too"));
      }
    }
    return nullptr;
  }
  if (client_auth.empty()) {
    tls.client_auth =
        tls.ca_file.empty() ? ClientAuth::kNone : ClientAuth::kRequire;
  } else {
    absl::StatusOr<ClientAuth> parsed = ParseClientAuth(client_auth);
    if (!parsed.ok()) return parsed.status();
    tls.client_auth = *parsed;
  }
  if (!policy_file.empty() && allow_all) {
    return absl::InvalidArgumentError(
        "--authz_policy and --authz_allow_all exclude each other");
  }
  if (policy_file.empty() && !allow_all) {
    return absl::InvalidArgumentError(
        "TLS is on but no --authz_policy is given: every peer the handshake "
        "admits could call every method, writes included. Give "
        "--authz_policy=FILE (see deploy/kubernetes/components/tls/"
        "authz-policy.json), or --authz_allow_all to allow that explicitly");
  }
  std::shared_ptr<grpc::AuthMetadataProcessor> authorizer;
  std::string authorization = "every call allowed (--authz_allow_all)";
  if (!policy_file.empty()) {
    auto policy = PolicyFile::Load(
        policy_file, absl::GetFlag(FLAGS_security_reload_interval), log_name);
    if (!policy.ok()) return policy.status();
    authorization = absl::StrCat("authorization policy \"",
                                 (*policy)->current()->name(), "\"");
    authorizer = MakeAuthorizer(*std::move(policy), log_name, std::move(on_denied));
  }
  auto credentials = MakeServerCredentials(tls, std::move(authorizer));
  if (!credentials.ok()) return credentials.status();
  LogInfo("tls", {{"client_auth", std::string(ClientAuthName(tls.client_auth))},
                  {"authorization", authorization}});
  return credentials;
}

}  // namespace kouryu

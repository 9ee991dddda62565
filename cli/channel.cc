#include "cli/channel.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/server.h"
#include "common/tls.h"

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

namespace {

// The channel security the options describe, through the servers' own TLS
// module (common/tls.h).
absl::StatusOr<ChannelSecurity> MakeSecurity(const TransportOptions& options) {
  if (!options.UsesTls()) return PlaintextChannel();
  if (options.plaintext) {
    return absl::InvalidArgumentError(
        "-plaintext cannot be combined with -cacert, -cert, -key, -servername "
        "or -insecure");
  }
  if (options.cert.empty() != options.key.empty()) {
    return absl::InvalidArgumentError(
        "-cert and -key go together: the client certificate needs its key");
  }
  // A file that cannot be read is named with the system's reason.
  for (const std::string* path : {&options.cacert, &options.cert, &options.key}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> read = ReadWholeFile(*path);
    if (!read.ok()) return read.status();
  }
  return MakeChannelSecurity({.ca_file = options.cacert,
                              .cert_file = options.cert,
                              .key_file = options.key,
                              .server_name = options.servername,
                              .insecure_skip_verify = options.insecure});
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const TransportOptions& options) {
  absl::StatusOr<ChannelSecurity> security = MakeSecurity(options);
  if (!security.ok()) return security.status();
  return security->credentials;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const TransportOptions& options) {
  absl::StatusOr<ChannelSecurity> security = MakeSecurity(options);
  if (!security.ok()) return security.status();
  grpc::ChannelArguments& args = security->args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel(address, security->credentials, args);
}

}  // namespace kouryu::cli

#include "common/tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kouryu {
namespace {

using ::grpc::experimental::FileWatcherCertificateProvider;

absl::Status FileError(absl::string_view what, absl::string_view file,
                       absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " ", file, ": ", problem));
}

// The last OpenSSL error as text ("" when none), clearing the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

absl::StatusOr<std::string> ReadFile(absl::string_view what,
                                     const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return FileError(what, file, "cannot be read");
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) return FileError(what, file, "cannot be read");
  if (content.str().empty()) return FileError(what, file, "is empty");
  return content.str();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Certificate = std::unique_ptr<X509, X509Deleter>;
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyDeleter>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM file, and how many it holds.
absl::StatusOr<Certificate> ReadCertificates(absl::string_view what,
                                             const std::string& file,
                                             int* count = nullptr) {
  absl::StatusOr<std::string> pem = ReadFile(what, file);
  if (!pem.ok()) return pem.status();
  Bio bio = MemoryBio(*pem);
  Certificate first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (first == nullptr) {
    return FileError(
        what, file,
        absl::StrCat("holds no PEM certificate (", OpenSslError(), ")"));
  }
  int n = 1;
  while (Certificate next{
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    ++n;
  }
  ERR_clear_error();  // The end of the file reads as an error.
  if (count != nullptr) *count = n;
  return first;
}

// Checks that `key_file` holds a private key for the first certificate of
// `cert_file`.
absl::Status CheckKeyPair(absl::string_view who, const std::string& cert_file,
                          const std::string& key_file) {
  absl::StatusOr<Certificate> cert =
      ReadCertificates(absl::StrCat(who, " certificate"), cert_file);
  if (!cert.ok()) return cert.status();
  const std::string what = absl::StrCat(who, " key");
  absl::StatusOr<std::string> pem = ReadFile(what, key_file);
  if (!pem.ok()) return pem.status();
  Bio bio = MemoryBio(*pem);
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return FileError(what, key_file,
                     absl::StrCat("holds no unencrypted PEM private key (",
                                  OpenSslError(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return FileError(
        what, key_file,
        absl::StrCat("does not belong to the certificate in ", cert_file));
  }
  return absl::OkStatus();
}

absl::Status CheckCa(absl::string_view what, const std::string& ca_file) {
  return ReadCertificates(what, ca_file).status();
}

unsigned int RefreshSeconds(absl::Duration interval) {
  return static_cast<unsigned int>(
      std::clamp<int64_t>(absl::ToInt64Seconds(interval), 1, 24 * 3600));
}

}  // namespace

absl::StatusOr<ClientAuth> ParseClientAuth(absl::string_view text) {
  if (text == "none") return ClientAuth::kNone;
  if (text == "request") return ClientAuth::kRequest;
  if (text == "require") return ClientAuth::kRequire;
  return absl::InvalidArgumentError(absl::StrCat(
      "--client_auth=", text, ": expected none, request or require"));
}

absl::string_view ClientAuthName(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNone:
      return "none";
    case ClientAuth::kRequest:
      return "request";
    case ClientAuth::kRequire:
      return "require";
  }
  return "none";
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options,
    std::shared_ptr<grpc::AuthMetadataProcessor> authorizer) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key");
  }
  if (absl::Status s =
          CheckKeyPair("server", options.cert_file, options.key_file);
      !s.ok()) {
    return s;
  }
  if (options.client_auth == ClientAuth::kNone) {
    if (!options.ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_ca is set but --client_auth=none, so client certificates "
          "would not be checked; set --client_auth=require (or request)");
    }
  } else {
    if (options.ca_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--client_auth=", ClientAuthName(options.client_auth),
          " needs --tls_ca, the CA that client certificates chain to"));
    }
    if (absl::Status s = CheckCa("client CA", options.ca_file); !s.ok()) {
      return s;
    }
  }
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.ca_file,
      RefreshSeconds(options.refresh_interval));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  switch (options.client_auth) {
    case ClientAuth::kNone:
      tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      break;
    case ClientAuth::kRequest:
      tls.watch_root_certs();
      tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientAuth::kRequire:
      tls.watch_root_certs();
      tls.set_cert_request_type(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC refused the TLS server options");
  }
  if (authorizer != nullptr) credentials->SetAuthMetadataProcessor(authorizer);
  return credentials;
}

ChannelSecurity PlaintextChannel() {
  ChannelSecurity out;
  out.credentials = grpc::InsecureChannelCredentials();
  return out;
}

absl::StatusOr<ChannelSecurity> MakeChannelSecurity(
    const ClientTlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs both its certificate and its key file");
  }
  if (!options.cert_file.empty()) {
    if (absl::Status s =
            CheckKeyPair("client", options.cert_file, options.key_file);
        !s.ok()) {
      return s;
    }
  }
  if (!options.ca_file.empty()) {
    if (absl::Status s = CheckCa("server CA", options.ca_file); !s.ok()) {
      return s;
    }
  }
  grpc::experimental::TlsChannelCredentialsOptions tls;
  if (!options.cert_file.empty() || !options.ca_file.empty()) {
    tls.set_certificate_provider(
        std::make_shared<FileWatcherCertificateProvider>(
            options.key_file, options.cert_file, options.ca_file,
            RefreshSeconds(options.refresh_interval)));
    if (!options.cert_file.empty()) tls.watch_identity_key_cert_pairs();
    if (!options.ca_file.empty()) tls.watch_root_certs();
  }
  if (options.insecure_skip_verify) {
    tls.set_verify_server_certs(false);
    tls.set_check_call_host(false);
    tls.set_certificate_verifier(
        std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  } else {
    tls.set_certificate_verifier(
        std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  }
  ChannelSecurity out;
  out.credentials = grpc::experimental::TlsCredentials(tls);
  if (out.credentials == nullptr) {
    return absl::InternalError("gRPC refused the TLS channel options");
  }
  if (!options.server_name.empty()) {
    out.args.SetSslTargetNameOverride(options.server_name);
  }
  return out;
}

}  // namespace kouryu

#ifndef KOURYU_COMMON_AUTHZ_H_
#define KOURYU_COMMON_AUTHZ_H_

// Per-method authorization of calls from TLS peers, by a policy in gRPC's
// authorization policy language (gRFC A43, JSON), evaluated here: Debian's
// gRPC 1.51 ships the language's API but not its evaluator.
//
//   {
//     "name": "kouryu",
//     "deny_rules": [ ...rules... ],          // optional
//     "allow_rules": [                         // required
//       {"name": "writers",
//        "source": {"principals": ["spiffe://kouryu.local/writer"]},
//        "request": {"paths": ["/kouryu.v1.IngestService/*"],
//                    "headers": [{"key": "x-team", "values": ["data*"]}]}}
//     ]
//   }
//
// A call is denied when a deny rule matches it; otherwise allowed when an
// allow rule matches it; otherwise denied. A rule matches when its source
// and its request both match (an absent one matches everything): one of
// its principals, one of its paths, and every header it lists (each with
// one of its values). A string "x" matches exactly, "x*" is a prefix, "*x"
// a suffix, "*" anything that is not empty. A principal matches the peer's
// certificate: any of its URI SANs (SPIFFE IDs), any of its DNS SANs, or its
// subject ("CN=writer,O=kouryu", RFC 2253 order as OpenSSL prints it);
// principal "*" is any peer that presented a verified certificate. A peer
// without a certificate matches only rules without principals. Header keys
// are lowercase; pseudo-headers (":path"), "grpc-*" and "host" cannot be
// matched (as in A43). Unknown fields are errors, so that a misspelt key
// does not silently widen or narrow a policy.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace grpc {
class AuthMetadataProcessor;
}  // namespace grpc

namespace kouryu {

// Who is calling, as the TLS handshake established it.
struct Peer {
  // Presented a certificate that chains to the server's --tls_ca.
  bool authenticated = false;
  std::vector<std::string> uri_sans{};
  std::vector<std::string> dns_sans{};
  std::string subject{};

  // The name logs and errors use: the first URI SAN, else the first DNS
  // SAN, else the subject; "an unauthenticated peer" without a certificate.
  std::string Principal() const;
};

// Request headers (lowercase keys) in arrival order; a key may repeat.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Decision {
  bool allowed = false;
  // The name of the rule that decided: the deny rule or the allow rule
  // that matched; empty when no rule matched (denied).
  std::string rule;
};

// A parsed policy. Immutable, so safe to use from several threads.
class AuthorizationPolicy {
 public:
  // INVALID_ARGUMENT naming where the JSON is wrong ("allow_rules[1].source.
  // principals[0]: expected a string", "JSON: ... at line 3, column 5").
  static absl::StatusOr<AuthorizationPolicy> Parse(absl::string_view json);

  // `path` is the call's ":path", "/package.Service/Method".
  Decision Evaluate(const Peer& peer, absl::string_view path,
                    const Headers& headers) const;

  const std::string& name() const { return name_; }
  size_t allow_rule_count() const { return allow_rules_.size(); }
  size_t deny_rule_count() const { return deny_rules_.size(); }

  struct Matcher {
    enum class Kind { kExact, kPrefix, kSuffix, kNonEmpty };
    Kind kind = Kind::kExact;
    std::string text;
    bool Matches(absl::string_view value) const;
  };
  struct HeaderMatcher {
    std::string key;
    std::vector<Matcher> values;
  };
  struct Rule {
    std::string name;
    // Empty: any peer. `any_authenticated`: principal "*" was listed.
    std::vector<Matcher> principals;
    bool has_principals = false;
    bool any_authenticated = false;
    std::vector<Matcher> paths;  // empty: any path
    std::vector<HeaderMatcher> headers;
    bool Matches(const Peer& peer, absl::string_view path,
                 const Headers& headers) const;
  };

 private:
  std::string name_;
  std::vector<Rule> deny_rules_;
  std::vector<Rule> allow_rules_;
};

// A policy file, reread every `interval` by a thread of its own: a change
// that parses replaces the policy for the calls that start afterwards; a
// change that does not is logged (once per content) and the previous policy
// stays. Thread-safe.
class PolicyFile {
 public:
  // Reads and parses `path`; an error (unreadable, malformed) names the
  // file. `log_name` prefixes log lines ("kouryu-ingest"). A zero or
  // infinite `interval` does not watch.
  static absl::StatusOr<std::unique_ptr<PolicyFile>> Load(
      std::string path, absl::Duration interval, std::string log_name);
  ~PolicyFile();

  std::shared_ptr<const AuthorizationPolicy> current() const;

  // Rereads the file now. OK when it is unchanged or its new content is in
  // force; otherwise why the new content was refused (the previous policy
  // stays).
  absl::Status Reload();

  const std::string& path() const { return path_; }

 private:
  PolicyFile(std::string path, std::string log_name, std::string content,
             std::shared_ptr<const AuthorizationPolicy> policy);

  const std::string path_;
  const std::string log_name_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const AuthorizationPolicy> policy_ ABSL_GUARDED_BY(mutex_);
  // The content last read, whether it was accepted or not.
  std::string content_ ABSL_GUARDED_BY(mutex_);
  absl::Notification stop_;
  std::thread watcher_;
};

// The server side of authorization: decides every call of a TLS server by
// `policy` (set it on the credentials, common/tls.h MakeServerCredentials).
// A denied call fails with PERMISSION_DENIED, its message naming the
// principal, the method and the rule, and reason AUTHORIZATION_DENIED in
// words: gRPC sends only a code and a message for a call refused before it
// reaches the service, so no google.rpc.ErrorInfo travels. Each denial is
// logged to stderr with principal, method and rule.
// `on_denied`, when set, is called with the method's path for every denial
// (metrics count them: common/metrics.h Metrics::CountRefused).
std::shared_ptr<grpc::AuthMetadataProcessor> MakeAuthorizer(
    std::shared_ptr<PolicyFile> policy, std::string log_name,
    std::function<void(const std::string& path)> on_denied = nullptr);

}  // namespace kouryu

#endif  // KOURYU_COMMON_AUTHZ_H_

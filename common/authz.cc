#include "common/authz.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"

namespace kouryu {
namespace {

using Json = nlohmann::json;
using Matcher = AuthorizationPolicy::Matcher;
using Rule = AuthorizationPolicy::Rule;

absl::Status At(const std::string& where, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", problem));
}

std::string TypeName(const Json& value) { return value.type_name(); }

// The keys of `object` must be among `known`.
absl::Status OnlyKeys(const Json& object, const std::string& where,
                      std::initializer_list<absl::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (absl::string_view k : known) found = found || key == k;
    if (!found) {
      return At(where.empty() ? key : absl::StrCat(where, ".", key),
                absl::StrCat("unknown field (expected one of ",
                             absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringAt(const Json& value,
                                     const std::string& where) {
  if (!value.is_string()) {
    return At(where, absl::StrCat("expected a string, got ", TypeName(value)));
  }
  return value.get<std::string>();
}

absl::StatusOr<Matcher> ParseMatcher(const Json& value,
                                     const std::string& where) {
  absl::StatusOr<std::string> text = StringAt(value, where);
  if (!text.ok()) return text.status();
  if (text->empty()) return At(where, "empty string");
  Matcher m;
  if (*text == "*") {
    m.kind = Matcher::Kind::kNonEmpty;
  } else if (absl::EndsWith(*text, "*")) {
    m.kind = Matcher::Kind::kPrefix;
    m.text = text->substr(0, text->size() - 1);
  } else if (absl::StartsWith(*text, "*")) {
    m.kind = Matcher::Kind::kSuffix;
    m.text = text->substr(1);
  } else {
    m.kind = Matcher::Kind::kExact;
    m.text = *text;
  }
  return m;
}

// A non-empty array of matchers at `where`.
absl::StatusOr<std::vector<Matcher>> ParseMatchers(const Json& value,
                                                   const std::string& where) {
  if (!value.is_array()) {
    return At(where, absl::StrCat("expected an array, got ", TypeName(value)));
  }
  if (value.empty()) return At(where, "empty array (leave the field out)");
  std::vector<Matcher> out;
  for (size_t i = 0; i < value.size(); ++i) {
    absl::StatusOr<Matcher> m =
        ParseMatcher(value[i], absl::StrCat(where, "[", i, "]"));
    if (!m.ok()) return m.status();
    out.push_back(*std::move(m));
  }
  return out;
}

absl::Status ParseSource(const Json& source, const std::string& where,
                         Rule& rule) {
  if (!source.is_object()) {
    return At(where,
              absl::StrCat("expected an object, got ", TypeName(source)));
  }
  if (absl::Status s = OnlyKeys(source, where, {"principals"}); !s.ok()) {
    return s;
  }
  if (!source.contains("principals")) return absl::OkStatus();
  const std::string at = absl::StrCat(where, ".principals");
  absl::StatusOr<std::vector<Matcher>> principals =
      ParseMatchers(source["principals"], at);
  if (!principals.ok()) return principals.status();
  rule.has_principals = true;
  for (Matcher& m : *principals) {
    if (m.kind == Matcher::Kind::kNonEmpty) {
      rule.any_authenticated = true;
    } else {
      rule.principals.push_back(std::move(m));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AuthorizationPolicy::HeaderMatcher> ParseHeader(
    const Json& header, const std::string& where) {
  if (!header.is_object()) {
    return At(where,
              absl::StrCat("expected an object, got ", TypeName(header)));
  }
  if (absl::Status s = OnlyKeys(header, where, {"key", "values"}); !s.ok()) {
    return s;
  }
  if (!header.contains("key")) return At(where + ".key", "required");
  if (!header.contains("values")) return At(where + ".values", "required");
  AuthorizationPolicy::HeaderMatcher out;
  absl::StatusOr<std::string> key = StringAt(header["key"], where + ".key");
  if (!key.ok()) return key.status();
  out.key = absl::AsciiStrToLower(*key);
  if (out.key.empty() || absl::StartsWith(out.key, ":") ||
      absl::StartsWith(out.key, "grpc-") || out.key == "host") {
    return At(where + ".key",
              absl::StrCat("\"", *key,
                           "\" cannot be matched (pseudo-headers, grpc-* "
                           "and host are not allowed)"));
  }
  absl::StatusOr<std::vector<Matcher>> values =
      ParseMatchers(header["values"], where + ".values");
  if (!values.ok()) return values.status();
  out.values = *std::move(values);
  return out;
}

absl::Status ParseRequest(const Json& request, const std::string& where,
                          Rule& rule) {
  if (!request.is_object()) {
    return At(where,
              absl::StrCat("expected an object, got ", TypeName(request)));
  }
  if (absl::Status s = OnlyKeys(request, where, {"paths", "headers"});
      !s.ok()) {
    return s;
  }
  if (request.contains("paths")) {
    absl::StatusOr<std::vector<Matcher>> paths =
        ParseMatchers(request["paths"], where + ".paths");
    if (!paths.ok()) return paths.status();
    rule.paths = *std::move(paths);
  }
  if (request.contains("headers")) {
    const Json& headers = request["headers"];
    const std::string at = where + ".headers";
    if (!headers.is_array()) {
      return At(at, absl::StrCat("expected an array, got ", TypeName(headers)));
    }
    for (size_t i = 0; i < headers.size(); ++i) {
      auto header = ParseHeader(headers[i], absl::StrCat(at, "[", i, "]"));
      if (!header.ok()) return header.status();
      rule.headers.push_back(*std::move(header));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Rule>> ParseRules(const Json& rules,
                                             const std::string& where) {
  if (!rules.is_array()) {
    return At(where, absl::StrCat("expected an array, got ", TypeName(rules)));
  }
  std::vector<Rule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string at = absl::StrCat(where, "[", i, "]");
    const Json& json = rules[i];
    if (!json.is_object()) {
      return At(at, absl::StrCat("expected an object, got ", TypeName(json)));
    }
    if (absl::Status s = OnlyKeys(json, at, {"name", "source", "request"});
        !s.ok()) {
      return s;
    }
    if (!json.contains("name")) return At(at + ".name", "required");
    Rule rule;
    absl::StatusOr<std::string> name = StringAt(json["name"], at + ".name");
    if (!name.ok()) return name.status();
    if (name->empty()) return At(at + ".name", "empty string");
    rule.name = *name;
    if (json.contains("source")) {
      if (absl::Status s = ParseSource(json["source"], at + ".source", rule);
          !s.ok()) {
        return s;
      }
    }
    if (json.contains("request")) {
      if (absl::Status s = ParseRequest(json["request"], at + ".request", rule);
          !s.ok()) {
        return s;
      }
    }
    out.push_back(std::move(rule));
  }
  return out;
}

// Values of header `key`, joined with "," as HTTP/2 allows; nullopt-like
// `found` false when absent.
std::string HeaderValue(const Headers& headers, absl::string_view key,
                        bool& found) {
  std::string out;
  found = false;
  for (const auto& [k, v] : headers) {
    if (k != key) continue;
    if (found) out.push_back(',');
    out += v;
    found = true;
  }
  return out;
}

bool AnyMatches(const std::vector<Matcher>& matchers, absl::string_view value) {
  for (const Matcher& m : matchers) {
    if (m.Matches(value)) return true;
  }
  return false;
}

}  // namespace

std::string Peer::Principal() const {
  if (!authenticated) return "an unauthenticated peer";
  if (!uri_sans.empty()) return uri_sans.front();
  if (!dns_sans.empty()) return dns_sans.front();
  return subject;
}

bool Matcher::Matches(absl::string_view value) const {
  switch (kind) {
    case Kind::kExact:
      return value == text;
    case Kind::kPrefix:
      return absl::StartsWith(value, text);
    case Kind::kSuffix:
      return absl::EndsWith(value, text);
    case Kind::kNonEmpty:
      return !value.empty();
  }
  return false;
}

bool Rule::Matches(const Peer& peer, absl::string_view path,
                   const Headers& request_headers) const {
  if (has_principals) {
    if (!peer.authenticated) return false;
    bool matched = any_authenticated;
    for (const std::string& uri : peer.uri_sans) {
      matched = matched || AnyMatches(principals, uri);
    }
    for (const std::string& dns : peer.dns_sans) {
      matched = matched || AnyMatches(principals, dns);
    }
    matched = matched || AnyMatches(principals, peer.subject);
    if (!matched) return false;
  }
  if (!paths.empty() && !AnyMatches(paths, path)) return false;
  for (const HeaderMatcher& header : headers) {
    bool found = false;
    const std::string value = HeaderValue(request_headers, header.key, found);
    if (!found || !AnyMatches(header.values, value)) return false;
  }
  return true;
}

absl::StatusOr<AuthorizationPolicy> AuthorizationPolicy::Parse(
    absl::string_view text) {
  Json json;
  try {
    json = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // nlohmann's messages read "[json.exception.parse_error.101] parse
    // error at line 3, column 5: ..."; keep what follows the bracket.
    absl::string_view what = e.what();
    if (size_t end = what.find("] "); end != absl::string_view::npos) {
      what.remove_prefix(end + 2);
    }
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", what));
  }
  if (!json.is_object()) {
    return At("(policy)",
              absl::StrCat("expected an object, got ", TypeName(json)));
  }
  if (absl::Status s =
          OnlyKeys(json, "", {"name", "deny_rules", "allow_rules"});
      !s.ok()) {
    return s;
  }
  AuthorizationPolicy policy;
  if (!json.contains("name")) return At("name", "required");
  absl::StatusOr<std::string> name = StringAt(json["name"], "name");
  if (!name.ok()) return name.status();
  if (name->empty()) return At("name", "empty string");
  policy.name_ = *name;
  if (!json.contains("allow_rules")) {
    return At("allow_rules", "required (a policy allows nothing without it)");
  }
  absl::StatusOr<std::vector<Rule>> allow =
      ParseRules(json["allow_rules"], "allow_rules");
  if (!allow.ok()) return allow.status();
  policy.allow_rules_ = *std::move(allow);
  if (json.contains("deny_rules")) {
    absl::StatusOr<std::vector<Rule>> deny =
        ParseRules(json["deny_rules"], "deny_rules");
    if (!deny.ok()) return deny.status();
    policy.deny_rules_ = *std::move(deny);
  }
  return policy;
}

Decision AuthorizationPolicy::Evaluate(const Peer& peer, absl::string_view path,
                                       const Headers& headers) const {
  for (const Rule& rule : deny_rules_) {
    if (rule.Matches(peer, path, headers)) return {false, rule.name};
  }
  for (const Rule& rule : allow_rules_) {
    if (rule.Matches(peer, path, headers)) return {true, rule.name};
  }
  return {false, ""};
}

// --- PolicyFile -------------------------------------------------------------

namespace {

absl::StatusOr<std::string> ReadPolicy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("authorization policy ", path, ": cannot be read"));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::shared_ptr<const AuthorizationPolicy>> ParsePolicy(
    const std::string& path, const std::string& content) {
  absl::StatusOr<AuthorizationPolicy> policy =
      AuthorizationPolicy::Parse(content);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "authorization policy ", path, ": ", policy.status().message()));
  }
  return std::make_shared<const AuthorizationPolicy>(*std::move(policy));
}

void LogLoaded(const std::string& log_name, const std::string& path,
               const AuthorizationPolicy& policy, bool reloaded) {
  LogInfo(reloaded ? "authz_policy_reloaded" : "authz_policy_loaded",
          {{"policy", policy.name()},
           {"path", path},
           {"allow_rules", policy.allow_rule_count()},
           {"deny_rules", policy.deny_rule_count()}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyFile>> PolicyFile::Load(
    std::string path, absl::Duration interval, std::string log_name) {
  absl::StatusOr<std::string> content = ReadPolicy(path);
  if (!content.ok()) return content.status();
  auto policy = ParsePolicy(path, *content);
  if (!policy.ok()) return policy.status();
  LogLoaded(log_name, path, **policy, false);
  std::unique_ptr<PolicyFile> file(new PolicyFile(
      std::move(path), std::move(log_name), *std::move(content), *policy));
  if (interval > absl::ZeroDuration() && interval != absl::InfiniteDuration()) {
    PolicyFile* self = file.get();
    file->watcher_ = std::thread([self, interval] {
      while (!self->stop_.WaitForNotificationWithTimeout(interval)) {
        (void)self->Reload();  // Reload logs what it refuses.
      }
    });
  }
  return file;
}

PolicyFile::PolicyFile(std::string path, std::string log_name,
                       std::string content,
                       std::shared_ptr<const AuthorizationPolicy> policy)
    : path_(std::move(path)),
      log_name_(std::move(log_name)),
      policy_(std::move(policy)),
      content_(std::move(content)) {}

PolicyFile::~PolicyFile() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const AuthorizationPolicy> PolicyFile::current() const {
  absl::MutexLock lock(&mutex_);
  return policy_;
}

absl::Status PolicyFile::Reload() {
  absl::StatusOr<std::string> content = ReadPolicy(path_);
  absl::MutexLock lock(&mutex_);
  if (!content.ok()) {
    // A file being replaced can be briefly absent; say so once.
    if (!content_.empty()) {
      LogWarn("authz_policy_kept", {{"error", std::string(content.status().message())},
                                    {"policy", policy_->name()}});
      content_.clear();
    }
    return content.status();
  }
  if (*content == content_) {
    return absl::OkStatus();
  }
  content_ = *content;
  auto policy = ParsePolicy(path_, *content);
  if (!policy.ok()) {
    LogWarn("authz_policy_kept", {{"error", std::string(policy.status().message())},
                                  {"policy", policy_->name()}});
    return policy.status();
  }
  policy_ = *std::move(policy);
  LogLoaded(log_name_, path_, *policy_, true);
  return absl::OkStatus();
}

// --- The server's processor -------------------------------------------------

namespace {

std::vector<std::string> Properties(const grpc::AuthContext& context,
                                    const char* name) {
  std::vector<std::string> out;
  for (const grpc::string_ref& value : context.FindPropertyValues(name)) {
    out.emplace_back(value.data(), value.size());
  }
  return out;
}

Peer PeerOf(const grpc::AuthContext& context) {
  Peer peer;
  // gRPC records the peer's certificate only when it presented one, and a
  // presented certificate that does not verify fails the handshake.
  peer.authenticated = !context.FindPropertyValues("x509_pem_cert").empty();
  if (!peer.authenticated) return peer;
  peer.uri_sans = Properties(context, "peer_uri");
  peer.dns_sans = Properties(context, "peer_dns");
  std::vector<std::string> subject = Properties(context, "x509_subject");
  if (!subject.empty()) peer.subject = subject.front();
  return peer;
}

class Authorizer final : public grpc::AuthMetadataProcessor {
 public:
  Authorizer(std::shared_ptr<PolicyFile> policy, std::string log_name,
             std::function<void(const std::string& path)> on_denied)
      : policy_(std::move(policy)),
        log_name_(std::move(log_name)),
        on_denied_(std::move(on_denied)) {}

  // The decision is made in memory (the policy file is read by its own
  // thread), so gRPC may run it inline instead of handing every call to
  // another thread.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata,
                       grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    std::string path;
    Headers headers;
    for (const auto& [key, value] : metadata) {
      std::string k =
          absl::AsciiStrToLower(absl::string_view(key.data(), key.size()));
      std::string v(value.data(), value.size());
      if (k == ":path") path = v;
      headers.emplace_back(std::move(k), std::move(v));
    }
    const Peer peer = PeerOf(*context);
    const std::shared_ptr<const AuthorizationPolicy> policy =
        policy_->current();
    const Decision decision = policy->Evaluate(peer, path, headers);
    if (decision.allowed) return grpc::Status::OK;
    const std::string why =
        decision.rule.empty()
            ? absl::StrCat("no allow rule of policy \"", policy->name(),
                           "\" matches")
            : absl::StrCat("denied by rule \"", decision.rule,
                           "\" of policy \"", policy->name(), "\"");
    const std::string principal = peer.Principal();
    LogWarn("authz_denied",
            {{"method", path}, {"principal", principal}, {"reason", why}});
    if (on_denied_) on_denied_(path);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("AUTHORIZATION_DENIED: ", principal,
                                     " may not call ", path, " (", why, ")"));
  }

 private:
  const std::shared_ptr<PolicyFile> policy_;
  const std::string log_name_;
  const std::function<void(const std::string& path)> on_denied_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> MakeAuthorizer(
    std::shared_ptr<PolicyFile> policy, std::string log_name,
    std::function<void(const std::string& path)> on_denied) {
  return std::make_shared<Authorizer>(std::move(policy), std::move(log_name),
                                      std::move(on_denied));
}

}  // namespace kouryu

#include "common/log.h"

#include <grpc/support/log.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/rpc_method.h"

ABSL_FLAG(std::string, log_format, "json",
          "json: one JSON object per line on stderr; text: the same for a "
          "person at a terminal");
ABSL_FLAG(std::string, log_level, "info",
          "lowest level logged: debug, info, warn or error");

namespace kouryu {
namespace {

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// The process's logger. Set once by InitLogging (before servers start);
// read by every thread afterwards.
struct Logger {
  LogOptions options;
  std::shared_ptr<spdlog::logger> sink;
};

Logger* MakeLogger(const LogOptions& options) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(options.program, std::move(sink));
  // The line is composed here (JSON or text), spdlog only writes it.
  logger->set_pattern("%v", spdlog::pattern_time_type::utc);
  logger->set_level(SpdlogLevel(options.level));
  logger->flush_on(spdlog::level::trace);
  return new Logger{options, std::move(logger)};
}

std::atomic<Logger*> current{nullptr};

Logger& Current() {
  Logger* logger = current.load(std::memory_order_acquire);
  if (logger != nullptr) return *logger;
  // Before InitLogging: a default logger, made once.
  static Logger* fallback = MakeLogger(LogOptions{});
  return *fallback;
}

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
}

// A text value: bare when it needs no quoting, else as a JSON string.
std::string TextValue(const LogFields& value) {
  if (!value.is_string()) return value.dump();
  const std::string& s = value.get_ref<const std::string&>();
  bool plain = !s.empty();
  for (char c : s) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      plain = false;
      break;
    }
  }
  return plain ? s : value.dump(-1, ' ', false,
                                LogFields::error_handler_t::replace);
}

void ForwardGrpcLog(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kInfo;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG: level = LogLevel::kDebug; break;
    case GPR_LOG_SEVERITY_INFO: level = LogLevel::kInfo; break;
    case GPR_LOG_SEVERITY_ERROR: level = LogLevel::kError; break;
  }
  Log(level, "grpc",
      {{"file", args->file == nullptr ? "" : args->file},
       {"line", args->line},
       {"message", args->message == nullptr ? "" : args->message}});
}

}  // namespace

absl::StatusOr<LogOptions> LogOptionsFromFlags(absl::string_view program) {
  LogOptions options;
  options.program = std::string(program);
  const std::string format = absl::AsciiStrToLower(absl::GetFlag(FLAGS_log_format));
  if (format == "json") {
    options.format = LogFormat::kJson;
  } else if (format == "text") {
    options.format = LogFormat::kText;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_format=", absl::GetFlag(FLAGS_log_format),
        " is not a log format; use json or text"));
  }
  const std::string level = absl::AsciiStrToLower(absl::GetFlag(FLAGS_log_level));
  if (level == "debug") {
    options.level = LogLevel::kDebug;
  } else if (level == "info") {
    options.level = LogLevel::kInfo;
  } else if (level == "warn" || level == "warning") {
    options.level = LogLevel::kWarn;
  } else if (level == "error") {
    options.level = LogLevel::kError;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level=", absl::GetFlag(FLAGS_log_level),
        " is not a log level; use debug, info, warn or error"));
  }
  return options;
}

void InitLogging(const LogOptions& options) {
  // Replaced loggers are kept: another thread may still be writing to one.
  current.store(MakeLogger(options), std::memory_order_release);
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_verbosity(options.level == LogLevel::kDebug
                              ? GPR_LOG_SEVERITY_INFO
                              : GPR_LOG_SEVERITY_ERROR);
  }
  gpr_set_log_function(&ForwardGrpcLog);
}

bool ShouldLog(LogLevel level) {
  return Current().sink->should_log(SpdlogLevel(level));
}

void Log(LogLevel level, absl::string_view msg, const LogFields& fields) {
  Logger& logger = Current();
  if (!logger.sink->should_log(SpdlogLevel(level))) return;
  std::string line;
  if (logger.options.format == LogFormat::kJson) {
    LogFields out = LogFields::object();
    out["time"] = Now();
    out["level"] = LevelName(level);
    out["logger"] = logger.options.program;
    out["msg"] = std::string(msg);
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) out[key] = value;
    }
    // Invalid UTF-8 in a value (a peer address, a gRPC message) is replaced
    // rather than making the line unparsable.
    line = out.dump(-1, ' ', false, LogFields::error_handler_t::replace);
  } else {
    line = absl::StrCat(Now(), " ", absl::AsciiStrToUpper(LevelName(level)),
                        " ", logger.options.program, " ", msg);
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) {
        absl::StrAppend(&line, " ", key, "=", TextValue(value));
      }
    }
  }
  logger.sink->log(SpdlogLevel(level), line);
}

namespace {

bool ValidRequestId(grpc::string_ref id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  char bytes[16];
  for (char& b : bytes) b = static_cast<char>(absl::Uniform<uint8_t>(bits));
  return absl::BytesToHexString(absl::string_view(bytes, sizeof bytes));
}

LogLevel LevelOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return LogLevel::kWarn;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

std::string Principal(grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<std::string> identity;
  for (const grpc::string_ref& part : auth->GetPeerIdentity()) {
    identity.emplace_back(part.data(), part.size());
  }
  return absl::StrJoin(identity, ",");
}

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RequestLogInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), method_(SplitRpcMethod(info->method())),
        start_(absl::Now()) {}

  ~RequestLogInterceptor() override {
    if (!logged_) Write(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      auto it = metadata->find(grpc::string_ref(kRequestIdKey.data(),
                                                kRequestIdKey.size()));
      if (it != metadata->end() && ValidRequestId(it->second)) {
        request_id_.assign(it->second.data(), it->second.size());
      }
      // Read now: the context is gone by the time a cancelled call's
      // interceptor is destroyed.
      if (grpc::ServerContextBase* context = info_->server_context()) {
        peer_ = context->peer();
        principal_ = Principal(*context);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(std::string(kRequestIdKey),
                                                 RequestId());
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        !logged_) {
      Write(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  const std::string& RequestId() {
    if (request_id_.empty()) request_id_ = NewRequestId();
    return request_id_;
  }

  void Write(grpc::StatusCode code) {
    logged_ = true;
    LogLevel level = LevelOf(code);
    if (method_.service == "grpc.health.v1.Health") level = LogLevel::kDebug;
    if (!ShouldLog(level)) return;
    Log(level, "rpc",
        {{"service", method_.service},
         {"method", method_.method},
         {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))},
         {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start_)},
         {"peer", peer_},
         {"principal", principal_},
         {"request_id", RequestId()}});
  }

  grpc::experimental::ServerRpcInfo* info_;
  const RpcMethod method_;
  const absl::Time start_;
  std::string request_id_;
  std::string peer_;
  std::string principal_;
  bool logged_ = false;
};

class RequestLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RequestLogInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RequestLogInterceptorFactory() {
  return std::make_unique<RequestLogFactory>();
}

}  // namespace kouryu

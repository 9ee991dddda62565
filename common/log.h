#ifndef KOURYU_COMMON_LOG_H_
#define KOURYU_COMMON_LOG_H_

// The log both servers write: one line per event on standard error, through
// spdlog. With --log_format=json (the default) each line is one JSON object
// (escaped by nlohmann-json):
//
//   {"time":"2026-12-02T01:02:03.456789Z","level":"info",
//    "logger":"kouryu-query","msg":"rpc","service":"kouryu.v1.QueryService",
//    "method":"ListRecords","code":"OK","duration_ms":0.412,
//    "peer":"ipv4:127.0.0.1:40162","principal":"","request_id":"..."}
//
// Every line has time (UTC, RFC 3339 with microseconds), level (debug, info,
// warn, error), logger (the program) and msg (what happened: "rpc",
// "startup", "listening", "shutdown", "stopped", "caught_up", "lag",
// "stalled", "snapshot", "trim", "feed_ended", "grpc", ...); the rest are
// the event's fields. --log_format=text writes the same as
// "TIME LEVEL LOGGER MSG key=value ..." for a person at a terminal.
//
// gRPC's own log lines come through the same logger (msg "grpc"). Request
// and response bodies, and secrets, are never logged: callers pass names,
// counts and sequences only.
//
// Thread-safe once InitLogging has returned.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// --log_format=json|text and --log_level=debug|info|warn|error, defined once
// here for both servers.
ABSL_DECLARE_FLAG(std::string, log_format);
ABSL_DECLARE_FLAG(std::string, log_level);

namespace grpc::experimental {
class ServerInterceptorFactoryInterface;
}  // namespace grpc::experimental

namespace kouryu {

enum class LogFormat { kJson, kText };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogOptions {
  // The "logger" field of every line: "kouryu-ingest".
  std::string program = "kouryu";
  LogFormat format = LogFormat::kJson;
  // Lines below this level are dropped.
  LogLevel level = LogLevel::kInfo;
};

// LogOptions from --log_format and --log_level; InvalidArgument naming the
// flag and the values it accepts when one is unknown.
absl::StatusOr<LogOptions> LogOptionsFromFlags(absl::string_view program);

// Sets up the process's logger and routes gRPC's log lines through it.
// gRPC logs what is at least ERROR (its default), or INFO with
// --log_level=debug, unless GRPC_VERBOSITY says otherwise. Call once, early
// in main(); before, lines go to standard error as JSON at level info.
void InitLogging(const LogOptions& options);

// An event's fields, in the order they are written.
using LogFields = nlohmann::ordered_json;

// Writes one line: `msg` names the event (snake_case), `fields` is an
// object (or null for none).
void Log(LogLevel level, absl::string_view msg, const LogFields& fields = nullptr);
inline void LogDebug(absl::string_view msg, const LogFields& fields = nullptr) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(absl::string_view msg, const LogFields& fields = nullptr) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(absl::string_view msg, const LogFields& fields = nullptr) {
  Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(absl::string_view msg, const LogFields& fields = nullptr) {
  Log(LogLevel::kError, msg, fields);
}
// Whether a line at `level` would be written.
bool ShouldLog(LogLevel level);

// The metadata key of a call's request id, read from the request's initial
// metadata and sent back in the response's.
inline constexpr absl::string_view kRequestIdKey = "x-request-id";

// For ServerBuilder::experimental().SetInterceptorCreators: one "rpc" line
// per call, when it sends its status (or when it ends without one, as
// CANCELLED): service, method, code (canonical name, "INVALID_ARGUMENT"),
// duration_ms (from the call's arrival), peer, principal (the
// authenticated peer identity; "" without one), request_id (the client's
// x-request-id when it is 1 to 128 visible ASCII characters, otherwise a
// fresh random one), sent back as x-request-id in the response's initial
// metadata. Level info; warn for RESOURCE_EXHAUSTED, UNAVAILABLE,
// DEADLINE_EXCEEDED and UNIMPLEMENTED; error for UNKNOWN, INTERNAL and
// DATA_LOSS; health checks (grpc.health.v1.Health) at debug.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RequestLogInterceptorFactory();

}  // namespace kouryu

#endif  // KOURYU_COMMON_LOG_H_

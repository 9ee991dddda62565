#ifndef KOURYU_CLI_ERRORS_H_
#define KOURYU_CLI_ERRORS_H_

// How kouryu-cli shows an RPC error to a person: the canonical code and
// message, then the google.rpc details the servers attach (AIP-193), as a
// short list and never as base64:
//
//   ERROR: INVALID_ARGUMENT: rows[5].department "架空局外務部" does not ...
//     reason: INVALID_ROWS (kouryu.v1)  violations=1
//     - rows[5].department: "架空局外務部" does not begin with a bureau ...

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"

namespace kouryu::cli {

// The lines above, without a trailing newline. `max_violations` bounds the
// list; the rest is counted ("... and 12 more").
std::string FormatRpcError(const grpc::Status& status, int max_violations = 20);

// A grpc::Status as an absl::Status whose message is FormatRpcError's text
// (less the "ERROR: CODE: " prefix, which absl's ToString adds back).
absl::Status FromGrpc(const grpc::Status& status);

// Prints "kouryu-cli: <message>" (or the RPC error) to standard error.
void PrintError(const absl::Status& status);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_ERRORS_H_

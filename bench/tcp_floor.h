#ifndef KOURYU_BENCH_TCP_FLOOR_H_
#define KOURYU_BENCH_TCP_FLOOR_H_

// The floor beneath every RPC: a request/response round trip over loopback
// TCP between two processes, with nothing on top (no HTTP/2, no protobuf,
// no thread hand-off): fixed-size messages, blocking sockets, TCP_NODELAY,
// one server thread per connection.

#include <string>

#include "bench/measure.h"

namespace kouryu::bench {

// Serves echo on 127.0.0.1 (port 0) until killed: prints
// "kouryu-bench tcp-echo listening on 127.0.0.1:PORT" to stdout, as the
// servers do, then answers every `message_bytes` it reads with as many.
// Returns only on a setup error, with the exit code to use.
int ServeTcpEcho(int message_bytes);

// Round trips of `message_bytes` each way to the echo server at `address`
// (HOST:PORT), over options.concurrency connections, one thread each.
Figures TcpRoundTrips(const std::string& name, const std::string& address,
                      int message_bytes, const LoadOptions& options);

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_TCP_FLOOR_H_

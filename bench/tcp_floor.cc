#include "bench/tcp_floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kouryu::bench {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Reads or writes exactly `size` bytes with `io` (read or write); false on
// error or end of stream.
template <typename Io, typename Buffer>
bool Full(Io io, int fd, Buffer* data, size_t size) {
  while (size > 0) {
    ssize_t n = io(fd, data, size);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadFull(int fd, char* data, size_t size) { return Full(read, fd, data, size); }
bool WriteFull(int fd, const char* data, size_t size) {
  return Full(write, fd, data, size);
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Echo(int fd, int message_bytes) {
  NoDelay(fd);
  std::vector<char> buffer(message_bytes);
  while (ReadFull(fd, buffer.data(), buffer.size()) &&
         WriteFull(fd, buffer.data(), buffer.size())) {
  }
  close(fd);
}

// A connected socket to HOST:PORT (an IPv4 address).
absl::StatusOr<int> Connect(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) !=
          1) {
    return absl::InvalidArgumentError(absl::StrCat("bad address ", address));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status status = Errno(absl::StrCat("connecting to ", address));
    close(fd);
    return status;
  }
  NoDelay(fd);
  return fd;
}

}  // namespace

int ServeTcpEcho(int message_bytes) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (listener < 0 ||
      bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 128) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    std::perror("kouryu-bench tcp-echo");
    return 1;
  }
  std::printf("kouryu-bench tcp-echo listening on 127.0.0.1:%d\n",
              ntohs(addr.sin_port));
  std::fflush(stdout);
  while (true) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::thread(Echo, fd, message_bytes).detach();
  }
}

Figures TcpRoundTrips(const std::string& name, const std::string& address,
                      int message_bytes, const LoadOptions& options) {
  std::vector<int> fds;
  Errors connect_errors;
  for (int t = 0; t < options.concurrency; ++t) {
    absl::StatusOr<int> fd = Connect(address);
    if (!fd.ok()) {
      AddError(connect_errors, absl::StatusCodeToString(fd.status().code()),
               fd.status().message());
      fds.push_back(-1);
      continue;
    }
    fds.push_back(*fd);
  }
  std::vector<std::vector<char>> buffers(options.concurrency,
                                         std::vector<char>(message_bytes, 'k'));
  Figures figures = RunThreads(name, options, 1, [&](int thread) {
    int fd = fds[thread];
    char* data = buffers[thread].data();
    if (fd < 0) {
      absl::SleepFor(absl::Milliseconds(10));
      return absl::UnavailableError("not connected");
    }
    if (!WriteFull(fd, data, message_bytes) ||
        !ReadFull(fd, data, message_bytes)) {
      close(fd);
      fds[thread] = -1;
      return Errno("round trip");
    }
    return absl::OkStatus();
  });
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
  AddErrors(figures.errors, connect_errors);
  return figures;
}

}  // namespace kouryu::bench

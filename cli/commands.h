#ifndef KOURYU_CLI_COMMANDS_H_
#define KOURYU_CLI_COMMANDS_H_

// The typed subcommands of kouryu-cli, on the generated stubs (kouryu_proto):
// each makes one call (or one per page with --all), prints the answer in
// the chosen format and returns the exit code (0, or 1 with the error on
// standard error).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/output.h"

namespace kouryu::cli {

struct CallOptions {
  absl::Duration timeout = absl::Seconds(30);
  Format format = Format::kJson;
  // Every query waits until the replica has applied this sequence.
  uint64_t min_sequence = 0;
};

struct ListOptions {
  std::string parent = "cities/-";
  std::string filter;
  std::string order_by;
  std::string view;   // basic or full (RECORD_VIEW_ prefix optional).
  int page_size = 0;  // 0: the server's default.
  std::string page_token;
  bool all = false;  // Follow next_page_token to the end.
};

// QueryService (kouryu-query).
int RunGet(const std::shared_ptr<grpc::Channel>& channel,
           const std::string& name, const CallOptions& call);
int RunRecords(const std::shared_ptr<grpc::Channel>& channel,
               const ListOptions& list, const CallOptions& call);
int RunSearch(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& query, const ListOptions& list,
              const CallOptions& call);
int RunSummarize(const std::shared_ptr<grpc::Channel>& channel,
                 const ListOptions& list,
                 const std::vector<std::string>& group_by,
                 const CallOptions& call);
int RunCities(const std::shared_ptr<grpc::Channel>& channel,
              const CallOptions& call);
int RunBureaus(const std::shared_ptr<grpc::Channel>& channel,
               const CallOptions& call);
// GetReplicaStatus, then GetDigest at the applied sequence.
int RunStatus(const std::shared_ptr<grpc::Channel>& channel,
              const CallOptions& call);

// AdminService (kouryu-ingest): `action` is create, list or delete (with
// `backup_id`).
int RunBackup(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& action, uint32_t backup_id,
              const CallOptions& call);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_COMMANDS_H_

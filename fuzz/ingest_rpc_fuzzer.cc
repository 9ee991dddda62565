// Fuzz target: the request path of kouryu-ingest. Every RPC of
// IngestService, ChangeFeed and AdminService, called through gRPC on an
// in-process server over a real Store (rpc_env.h), with the request bytes
// of the input (rpc_harness.h: first byte the method, then the request or,
// for IngestRecords, length-prefixed messages).
//
// Checks, besides no crash and no sanitizer report: no INTERNAL, UNKNOWN or
// DATA_LOSS status and OK responses that parse (rpc.*); the head sequence
// never goes back (ingest.head_monotonic); a record UpsertRecord wrote is
// in the store with the etag answered (ingest.upsert_stored); a record
// DeleteRecord deleted is gone (ingest.delete_removed); a change-feed
// stream's changes come in increasing sequence order
// (feed.sequences_increase).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/rpc_env.h"
#include "fuzz/rpc_harness.h"
#include "ingest-service/backups.h"
#include "ingest-service/store.h"
#include "kouryu/v1/admin_service.pb.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/ingest_service.pb.h"

namespace {

using kouryu::fuzz::IngestEnv;
using kouryu::fuzz::RpcMethod;
using kouryu::fuzz::RpcResult;

// Inputs larger than this are skipped (ImportTable's own limits are far
// larger; the fuzzer need not spend its time copying).
constexpr size_t kMaxInputBytes = 256 << 10;
constexpr absl::Duration kDeadline = absl::Seconds(1);
// The store and backups grow with what the fuzzer writes: a fresh
// environment after this many inputs, and at most this many backups kept.
constexpr uint64_t kInputsPerEnv = 20000;
constexpr size_t kBackupsKept = 2;

struct Target {
  std::vector<RpcMethod> methods = IngestEnv::Methods();
  std::unique_ptr<IngestEnv> env = std::make_unique<IngestEnv>();
  uint64_t inputs = 0;
};

Target* target = nullptr;

void DestroyTarget() {
  delete target;
  target = nullptr;
}

// Cancels a Subscribe stream once it has sent everything up to the head it
// reported (it would otherwise wait for new changes until the deadline),
// checking the order of the changes on the way.
class FeedReader {
 public:
  explicit FeedReader(const std::string& request) {
    kouryu::v1::SubscribeRequest parsed;
    if (parsed.ParseFromString(request)) cursor_ = parsed.after_sequence();
  }

  bool operator()(const std::string& bytes) {
    kouryu::v1::SubscribeResponse response;
    if (!response.ParseFromString(bytes)) return false;  // rpc.response_parses
    if (response.has_snapshot()) {
      in_snapshot_ = !response.snapshot().last();
      if (response.snapshot().last()) cursor_ = response.snapshot().sequence();
      last_change_ = 0;
      return true;
    }
    for (const kouryu::v1::Change& change : response.changes()) {
      FUZZ_CHECK("feed.sequences_increase", change.sequence() > last_change_);
      last_change_ = change.sequence();
      cursor_ = change.sequence();
    }
    return in_snapshot_ || cursor_ < response.head_sequence();
  }

 private:
  uint64_t cursor_ = 0;
  uint64_t last_change_ = 0;
  bool in_snapshot_ = false;
};

void CheckWrite(const RpcMethod& method, const std::string& request_bytes,
                const RpcResult& result, kouryu::ingest::Store& store) {
  if (result.code != 0 || result.responses.size() != 1) return;
  const std::string& name = method.descriptor->name();
  if (name == "UpsertRecord") {
    kouryu::v1::UpsertRecordRequest request;
    kouryu::v1::UpsertRecordResponse response;
    if (!request.ParseFromString(request_bytes) ||
        !response.ParseFromString(result.responses[0]) || request.validate_only() ||
        response.outcome() == kouryu::v1::OUTCOME_REJECTED) {
      return;
    }
    absl::StatusOr<kouryu::v1::Record> stored = store.Get(response.record().name());
    FUZZ_CHECK("ingest.upsert_stored",
               stored.ok() && stored->etag() == response.record().etag());
  } else if (name == "DeleteRecord") {
    kouryu::v1::DeleteRecordRequest request;
    if (!request.ParseFromString(request_bytes)) return;
    FUZZ_CHECK("ingest.delete_removed",
               absl::IsNotFound(store.Get(request.name()).status()));
  } else if (name == "CreateBackup") {
    // Keep the backup directory small: drop all but the latest few.
    kouryu::ingest::Backups& backups = target->env->backups();
    absl::StatusOr<std::vector<kouryu::ingest::BackupInfo>> all = backups.List();
    if (!all.ok()) return;
    for (size_t i = 0; i + kBackupsKept < all->size(); ++i) {
      (void)backups.Delete((*all)[i].id);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (target == nullptr) {
    target = new Target;
    std::atexit(DestroyTarget);
  }
  if (size == 0 || size > kMaxInputBytes) return 0;
  if (++target->inputs % kInputsPerEnv == 0) {
    target->env.reset();
    target->env = std::make_unique<IngestEnv>();
  }
  kouryu::fuzz::RpcInput input =
      kouryu::fuzz::DecodeInput(data, size, target->methods);
  const RpcMethod& method = target->methods[input.method];
  kouryu::ingest::Store& store = target->env->store();
  const uint64_t head_before = store.HeadSequence();
  kouryu::fuzz::ResponseVisitor visit;
  if (method.descriptor->server_streaming()) visit = FeedReader(input.messages[0]);
  const RpcResult result =
      target->env->server().Call(method, input.messages, kDeadline, visit);
  kouryu::fuzz::CheckCall(method, result);
  FUZZ_CHECK("ingest.head_monotonic", store.HeadSequence() >= head_before);
  CheckWrite(method, input.messages.empty() ? std::string() : input.messages[0],
             result, store);
  return 0;
}

#ifndef KOURYU_FUZZ_RPC_ENV_H_
#define KOURYU_FUZZ_RPC_ENV_H_

// The servers the RPC fuzz targets call (rpc_harness.h), each over real
// storage in a fresh temporary directory that goes away with it:
//
//   IngestEnv  kouryu-ingest's services (IngestService, ChangeFeed,
//              AdminService with backups) over a Store, as main.cc wires
//              them, with data/tokyo-exchange-r1.tsv imported through
//              ImportTable;
//   QueryEnv   kouryu-query's QueryService over a Replica that a real
//              Follower filled from an IngestEnv's change feed.
//
// Setup failures abort: a target without its server tests nothing.

#include <memory>
#include <string>
#include <vector>

#include "fuzz/rpc_harness.h"

namespace kouryu {
class Gazetteer;
namespace ingest {
class AdminServiceImpl;
class Backups;
class ChangeFeedImpl;
class IngestServiceImpl;
class Normalizer;
class Store;
}  // namespace ingest
namespace query {
class Follower;
class QueryServiceImpl;
class Replica;
}  // namespace query
}  // namespace kouryu

namespace kouryu::fuzz {

// The published table, read from the source tree.
std::string PublishedTable();

// A directory made under $TMPDIR (or /tmp), removed with its content by the
// destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class IngestEnv {
 public:
  // Starts the services and imports the published table.
  IngestEnv();
  ~IngestEnv();

  static std::vector<RpcMethod> Methods();  // IngestService, ChangeFeed, AdminService

  InProcessServer& server() { return *server_; }
  ingest::Store& store() { return *store_; }
  ingest::Backups& backups() { return *backups_; }

 private:
  TempDir dir_;
  std::unique_ptr<ingest::Store> store_;
  std::unique_ptr<ingest::Normalizer> normalizer_;
  std::unique_ptr<ingest::Backups> backups_;
  std::unique_ptr<ingest::IngestServiceImpl> ingest_;
  std::unique_ptr<ingest::ChangeFeedImpl> feed_;
  std::unique_ptr<ingest::AdminServiceImpl> admin_;
  std::unique_ptr<InProcessServer> server_;
};

class QueryEnv {
 public:
  // Starts an IngestEnv, follows its change feed into the replica up to
  // the head, stops following and starts QueryService.
  QueryEnv();
  ~QueryEnv();

  static std::vector<RpcMethod> Methods();  // QueryService

  InProcessServer& server() { return *server_; }
  const query::Replica& replica() const { return *replica_; }

 private:
  IngestEnv ingest_;
  TempDir dir_;
  std::unique_ptr<query::Replica> replica_;
  std::unique_ptr<query::Follower> follower_;
  std::unique_ptr<query::QueryServiceImpl> query_;
  std::unique_ptr<InProcessServer> server_;
};

}  // namespace kouryu::fuzz

#endif  // KOURYU_FUZZ_RPC_ENV_H_

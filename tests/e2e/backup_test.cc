// Backups and restore, for real: kouryu-ingest with --backup_dir on port 0,
// AdminService called over gRPC while writes go on, `kouryu-ingest
// --restore_from` run as a process, kouryu-query replicas following the
// restored server. The oracle for "the digest the primary had at the
// backup's sequence" is the primary's own changelog, replayed up to that
// sequence by the test.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/keys.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "kouryu/v1/admin_service.grpc.pb.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/published_table.h"

namespace kouryu {
namespace {

namespace fs = std::filesystem;
using ::kouryu::testing::CommandResult;
using ::kouryu::testing::PublishedTable;
using ::kouryu::testing::RunCommand;
using ::kouryu::testing::ServerProcess;

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

// One ingest server and its stubs.
struct Ingest {
  std::unique_ptr<ServerProcess> process;
  std::unique_ptr<v1::IngestService::Stub> ingest;
  std::unique_ptr<v1::ChangeFeed::Stub> feed;
  std::unique_ptr<v1::AdminService::Stub> admin;

  int Terminate() {
    ingest.reset();
    feed.reset();
    admin.reset();
    return process->Terminate();
  }
};

std::unique_ptr<Ingest> StartIngest(const std::vector<std::string>& flags,
                                    const std::string& listen = "127.0.0.1:0") {
  std::vector<std::string> argv = {KOURYU_INGEST_BIN, "--listen=" + listen};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto p = ServerProcess::Start(argv);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return nullptr;
  auto out = std::make_unique<Ingest>();
  out->process = *std::move(p);
  auto channel = grpc::CreateChannel(out->process->address(),
                                     grpc::InsecureChannelCredentials());
  out->ingest = v1::IngestService::NewStub(channel);
  out->feed = v1::ChangeFeed::NewStub(channel);
  out->admin = v1::AdminService::NewStub(channel);
  return out;
}

std::unique_ptr<ServerProcess> StartQuery(const std::string& data_dir,
                                          const std::string& ingest) {
  auto p = ServerProcess::Start({KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
                                 "--data_dir=" + data_dir,
                                 "--ingest=" + ingest});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

CommandResult Restore(const std::string& backup_dir, const std::string& data_dir,
                      uint32_t id = 0) {
  std::vector<std::string> argv = {KOURYU_INGEST_BIN,
                                   "--restore_from=" + backup_dir,
                                   "--data_dir=" + data_dir};
  if (id != 0) argv.push_back(absl::StrCat("--restore_backup_id=", id));
  return RunCommand(argv);
}

v1::Backup CreateBackup(Ingest& server) {
  v1::Backup backup;
  grpc::Status status = server.admin->CreateBackup(
      Deadline().get(), v1::CreateBackupRequest(), &backup);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return backup;
}

std::vector<v1::Backup> ListBackups(Ingest& server) {
  v1::ListBackupsResponse response;
  grpc::Status status = server.admin->ListBackups(
      Deadline().get(), v1::ListBackupsRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.backups().begin(), response.backups().end()};
}

v1::Digest DigestOf(v1::ChangeFeed::Stub& feed) {
  v1::Digest digest;
  grpc::Status status =
      feed.GetDigest(Deadline().get(), v1::GetDigestRequest(), &digest);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return digest;
}

// Every change of the server's changelog, from the first.
std::vector<v1::Change> Changelog(v1::ChangeFeed::Stub& feed) {
  v1::SubscribeRequest request;
  request.set_until_head(true);
  auto context = Deadline();
  auto reader = feed.Subscribe(context.get(), request);
  std::vector<v1::Change> changes;
  v1::SubscribeResponse response;
  while (reader->Read(&response)) {
    EXPECT_FALSE(response.has_snapshot());
    for (const v1::Change& c : response.changes()) changes.push_back(c);
  }
  EXPECT_TRUE(reader->Finish().ok());
  return changes;
}

// The oracle: the digest of the records the changes up to `sequence` leave.
struct Expected {
  uint64_t record_count = 0;
  std::string digest;
};
Expected ReplayUpTo(const std::vector<v1::Change>& changes, uint64_t sequence) {
  std::map<std::string, std::string> etags;  // RecordKey -> etag
  for (const v1::Change& change : changes) {
    if (change.sequence() > sequence) break;
    auto name = ParseRecordName(change.name());
    EXPECT_TRUE(name.ok()) << change.name();
    if (!name.ok()) continue;
    if (change.kind() == v1::CHANGE_KIND_DELETE) {
      etags.erase(RecordKey(*name));
    } else {
      etags[RecordKey(*name)] = change.record().etag();
    }
  }
  DigestBuilder digest;
  for (const auto& [key, etag] : etags) digest.Add(key, etag);
  return {digest.count(), digest.hex()};
}

v1::UpsertRecordRequest Row(int n, int version = 0) {
  v1::UpsertRecordRequest request;
  v1::RawRecord* record = request.mutable_record();
  record->set_category("②姉妹港交流");
  record->set_department("港湾局港湾経営部");
  record->set_title(absl::StrCat("大韓民国ソウル特別市との港湾交流 第", n, "回"));
  record->set_results(absl::StrCat("<p>【交流】</p>・第", n, "回 版", version));
  record->set_fiscal_year(2020);
  return request;
}

// Writes until stopped: new rows, updates of earlier ones, deletes.
class Writer {
 public:
  explicit Writer(v1::IngestService::Stub& stub) : stub_(stub) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int writes() const { return writes_; }
  // Waits until `n` more writes than now are done.
  void WaitForMore(int n) {
    const int target = writes_ + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (writes_ < target && absl::Now() < deadline) std::this_thread::yield();
    ASSERT_GE(writes_, target);
  }

 private:
  void Run() {
    std::vector<std::string> names;
    for (int n = 0; !stop_; ++n) {
      grpc::Status status;
      if (n % 7 == 6 && !names.empty()) {
        v1::DeleteRecordRequest request;
        request.set_name(names.back());
        names.pop_back();
        v1::DeleteRecordResponse response;
        status = stub_.DeleteRecord(Deadline().get(), request, &response);
      } else {
        // Every third write updates an earlier row.
        v1::UpsertRecordRequest request =
            n % 3 == 2 ? Row(n / 2, n) : Row(n);
        v1::UpsertRecordResponse response;
        status = stub_.UpsertRecord(Deadline().get(), request, &response);
        if (status.ok() && n % 3 != 2) names.push_back(response.record().name());
      }
      EXPECT_TRUE(status.ok()) << status.error_message();
      ++writes_;
    }
  }

  v1::IngestService::Stub& stub_;
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
  std::thread thread_;
};

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir();
    ASSERT_FALSE(root_.empty());
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Dir(const std::string& name) const { return root_ + "/" + name; }

  std::unique_ptr<Ingest> StartPrimary(const std::string& data = "primary",
                                       const std::string& listen = "127.0.0.1:0") {
    return StartIngest({"--data_dir=" + Dir(data), "--backup_dir=" + Dir("backups")},
                       listen);
  }

  uint64_t Import(Ingest& server) {
    v1::ImportTableRequest request;
    request.set_content(PublishedTable());
    request.set_file_name("tokyo-exchange-r1.tsv");
    v1::ImportTableResponse response;
    grpc::Status status =
        server.ingest->ImportTable(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.sequence();
  }

  std::string root_;
};

TEST_F(BackupTest, BackupUnderWritesRestoresTheDigestAtItsSequence) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  ASSERT_EQ(Import(*primary), 36u);
  std::vector<v1::Backup> backups;
  {
    Writer writer(*primary->ingest);
    writer.WaitForMore(20);
    backups.push_back(CreateBackup(*primary));
    writer.WaitForMore(20);
    backups.push_back(CreateBackup(*primary));
    writer.WaitForMore(20);
  }
  const v1::Digest head = DigestOf(*primary->feed);
  const std::vector<v1::Change> changelog = Changelog(*primary->feed);
  ASSERT_EQ(backups.size(), 2u);
  // Writes went on before, between and after the backups. The first backup
  // holds at least the import and the 20 writes awaited before it; whether
  // the write in flight when it was asked for made it in is a race.
  EXPECT_GE(backups[0].sequence(), 36u + 20);
  EXPECT_GT(backups[1].sequence(), backups[0].sequence());
  EXPECT_GT(head.sequence(), backups[1].sequence());
  EXPECT_EQ(backups[0].backup_id(), 1u);
  EXPECT_EQ(backups[1].backup_id(), 2u);
  EXPECT_GT(backups[0].size_bytes(), 0u);
  EXPECT_GT(backups[0].create_time().seconds(), 0);
  EXPECT_EQ(backups[0].history_id(), backups[1].history_id());

  const std::vector<v1::Backup> listed = ListBackups(*primary);
  ASSERT_EQ(listed.size(), 2u);
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].SerializeAsString(), backups[i].SerializeAsString());
  }

  for (const v1::Backup& backup : backups) {
    const Expected expected = ReplayUpTo(changelog, backup.sequence());
    EXPECT_EQ(backup.record_count(), expected.record_count);
    EXPECT_EQ(backup.digest(), expected.digest);

    const std::string dir = Dir(absl::StrCat("restored-", backup.backup_id()));
    // The latest by default; the first by its id.
    CommandResult restored =
        Restore(Dir("backups"), dir, backup.backup_id() == 1 ? 1 : 0);
    ASSERT_EQ(restored.exit_code, 0) << restored.out;
    auto server = StartIngest({"--data_dir=" + dir});
    ASSERT_NE(server, nullptr);
    const v1::Digest digest = DigestOf(*server->feed);
    std::printf(
        "backup %u: sequence %llu (primary head %llu, digest %s); changelog "
        "replayed to %llu: %llu records, digest %s; restored server: sequence "
        "%llu, %llu records, digest %s\n",
        backup.backup_id(), static_cast<unsigned long long>(backup.sequence()),
        static_cast<unsigned long long>(head.sequence()), head.digest().c_str(),
        static_cast<unsigned long long>(backup.sequence()),
        static_cast<unsigned long long>(expected.record_count),
        expected.digest.c_str(),
        static_cast<unsigned long long>(digest.sequence()),
        static_cast<unsigned long long>(digest.record_count()),
        digest.digest().c_str());
    EXPECT_EQ(digest.sequence(), backup.sequence());
    EXPECT_EQ(digest.record_count(), expected.record_count);
    EXPECT_EQ(digest.digest(), expected.digest);
    EXPECT_NE(digest.digest(), head.digest());
    EXPECT_EQ(server->Terminate(), 0);
  }
}

TEST_F(BackupTest, ListsDeletesAndRefusesBadRestores) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  const uint64_t imported = Import(*primary);
  const v1::Backup first = CreateBackup(*primary);
  v1::UpsertRecordResponse upserted;
  ASSERT_TRUE(
      primary->ingest->UpsertRecord(Deadline().get(), Row(1), &upserted).ok());
  const v1::Backup second = CreateBackup(*primary);
  EXPECT_EQ(first.sequence(), imported);
  EXPECT_EQ(second.sequence(), upserted.sequence());
  ASSERT_EQ(ListBackups(*primary).size(), 2u);

  v1::DeleteBackupRequest request;
  request.set_backup_id(first.backup_id());
  v1::DeleteBackupResponse response;
  EXPECT_TRUE(
      primary->admin->DeleteBackup(Deadline().get(), request, &response).ok());
  std::vector<v1::Backup> left = ListBackups(*primary);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].backup_id(), second.backup_id());
  grpc::Status again =
      primary->admin->DeleteBackup(Deadline().get(), request, &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(again), "BACKUP_NOT_FOUND");

  // An unknown (deleted) id: an error, nothing written.
  CommandResult unknown = Restore(Dir("backups"), Dir("r1"), first.backup_id());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_FALSE(fs::exists(Dir("r1")));
  // A directory that holds anything: refused, left as it was.
  fs::create_directories(Dir("r2"));
  std::ofstream(Dir("r2") + "/keep") << "mine";
  CommandResult not_empty = Restore(Dir("backups"), Dir("r2"));
  EXPECT_NE(not_empty.exit_code, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(Dir("r2")),
                          fs::directory_iterator()),
            1);
  // An empty existing directory is fine: the latest backup.
  fs::create_directories(Dir("r3"));
  CommandResult latest = Restore(Dir("backups"), Dir("r3"));
  ASSERT_EQ(latest.exit_code, 0);
  // A missing directory is made, with its parents.
  CommandResult nested = Restore(Dir("backups"), Dir("r4/new/db"));
  EXPECT_EQ(nested.exit_code, 0) << nested.out;
  EXPECT_TRUE(fs::is_directory(Dir("r4/new/db")));
  auto server = StartIngest({"--data_dir=" + Dir("r3")});
  ASSERT_NE(server, nullptr);
  const v1::Digest digest = DigestOf(*server->feed);
  EXPECT_EQ(digest.sequence(), second.sequence());
  EXPECT_EQ(digest.digest(), second.digest());
}

TEST_F(BackupTest, ConcurrentCreateBackupsEachSucceedOrAreAborted) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  Import(*primary);
  constexpr int kCalls = 8;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::Backup backup;
      statuses[i] = primary->admin->CreateBackup(
          Deadline().get(), v1::CreateBackupRequest(), &backup);
    });
  }
  for (std::thread& t : threads) t.join();
  size_t ok = 0;
  for (const grpc::Status& status : statuses) {
    if (status.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED)
          << status.error_message();
      EXPECT_EQ(ReasonOf(status), "BACKUP_IN_PROGRESS");
    }
  }
  EXPECT_GE(ok, 1u);
  EXPECT_EQ(ListBackups(*primary).size(), ok);
}

TEST_F(BackupTest, WithoutBackupDirEveryMethodIsBackupsDisabled) {
  auto server = StartIngest({"--data_dir=" + Dir("db")});
  ASSERT_NE(server, nullptr);
  v1::Backup backup;
  v1::ListBackupsResponse list;
  v1::DeleteBackupResponse deleted;
  for (const grpc::Status& status :
       {server->admin->CreateBackup(Deadline().get(), {}, &backup),
        server->admin->ListBackups(Deadline().get(), {}, &list),
        server->admin->DeleteBackup(Deadline().get(), {}, &deleted)}) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(ReasonOf(status), "BACKUPS_DISABLED");
  }
}

class RestoredPrimaryTest : public BackupTest {
 protected:
  // Polls the replica's digest until it is `want`.
  void ExpectReplicaReaches(ServerProcess& query, const v1::Digest& want) {
    auto stub = v1::QueryService::NewStub(
        grpc::CreateChannel(query.address(), grpc::InsecureChannelCredentials()));
    v1::Digest got;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      grpc::Status status =
          stub->GetDigest(Deadline().get(), v1::GetDigestRequest(), &got);
      if (status.ok() && got.sequence() == want.sequence() &&
          got.digest() == want.digest()) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));  // polling, bounded above
    }
    std::printf("replica: sequence %llu, %llu records, digest %s; primary: "
                "sequence %llu, %llu records, digest %s\n",
                static_cast<unsigned long long>(got.sequence()),
                static_cast<unsigned long long>(got.record_count()),
                got.digest().c_str(),
                static_cast<unsigned long long>(want.sequence()),
                static_cast<unsigned long long>(want.record_count()),
                want.digest().c_str());
    EXPECT_EQ(got.sequence(), want.sequence());
    EXPECT_EQ(got.record_count(), want.record_count());
    EXPECT_EQ(got.digest(), want.digest());
  }

  grpc::StatusCode GetRecordCode(ServerProcess& query, const std::string& name,
                                 uint64_t min_sequence) {
    auto stub = v1::QueryService::NewStub(
        grpc::CreateChannel(query.address(), grpc::InsecureChannelCredentials()));
    v1::GetRecordRequest request;
    request.set_name(name);
    request.set_min_sequence(min_sequence);
    v1::Record record;
    return stub->GetRecord(Deadline().get(), request, &record).error_code();
  }

  // Primary with the published table, a backup of it, then writes past the
  // backup that a replica follows. Returns the name of a record written
  // after the backup.
  std::string BackUpThenWritePast(Ingest& primary, ServerProcess& query,
                                  v1::Backup* backup) {
    const uint64_t imported = Import(primary);
    *backup = CreateBackup(primary);
    EXPECT_EQ(backup->sequence(), imported);
    std::string name;
    uint64_t sequence = 0;
    for (int n = 0; n < 4; ++n) {
      v1::UpsertRecordResponse upserted;
      EXPECT_TRUE(
          primary.ingest->UpsertRecord(Deadline().get(), Row(n), &upserted).ok());
      name = upserted.record().name();
      sequence = upserted.sequence();
    }
    EXPECT_EQ(GetRecordCode(query, name, sequence), grpc::StatusCode::OK);
    replica_applied_ = sequence;
    return name;
  }

  uint64_t replica_applied_ = 0;
};

TEST_F(RestoredPrimaryTest, ReplicaAheadOfRestoredPrimaryResyncs) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  const std::string address = primary->process->address();
  auto query = StartQuery(Dir("query"), address);
  ASSERT_NE(query, nullptr);
  v1::Backup backup;
  const std::string later = BackUpThenWritePast(*primary, *query, &backup);
  EXPECT_EQ(primary->Terminate(), 0);

  // The primary comes back from the backup, behind the replica.
  ASSERT_EQ(Restore(Dir("backups"), Dir("restored")).exit_code, 0);
  auto restored = StartIngest({"--data_dir=" + Dir("restored")}, address);
  ASSERT_NE(restored, nullptr);
  const v1::Digest want = DigestOf(*restored->feed);
  EXPECT_EQ(want.sequence(), backup.sequence());
  EXPECT_LT(want.sequence(), replica_applied_);
  ExpectReplicaReaches(*query, want);
  EXPECT_EQ(GetRecordCode(*query, later, 0), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RestoredPrimaryTest, ReplicaOfAnotherHistoryResyncsWhenTheHeadPassesIt) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  auto query = StartQuery(Dir("query"), primary->process->address());
  ASSERT_NE(query, nullptr);
  v1::Backup backup;
  const std::string later = BackUpThenWritePast(*primary, *query, &backup);
  EXPECT_EQ(query->Terminate(), 0);
  EXPECT_EQ(primary->Terminate(), 0);

  // The restored primary takes other writes, past the replica's sequence:
  // the same sequences now stand for other changes.
  ASSERT_EQ(Restore(Dir("backups"), Dir("restored")).exit_code, 0);
  auto restored = StartIngest({"--data_dir=" + Dir("restored")});
  ASSERT_NE(restored, nullptr);
  for (int n = 100; n < 110; ++n) {
    v1::UpsertRecordResponse upserted;
    ASSERT_TRUE(
        restored->ingest->UpsertRecord(Deadline().get(), Row(n), &upserted).ok());
  }
  const v1::Digest want = DigestOf(*restored->feed);
  EXPECT_GT(want.sequence(), replica_applied_);

  query = StartQuery(Dir("query"), restored->process->address());
  ASSERT_NE(query, nullptr);
  ExpectReplicaReaches(*query, want);
  EXPECT_EQ(GetRecordCode(*query, later, want.sequence()),
            grpc::StatusCode::NOT_FOUND);
}

// Whether the first response of Subscribe(after, history) is a snapshot.
bool StartsWithSnapshot(v1::ChangeFeed::Stub& feed, uint64_t after,
                        const std::string& history) {
  v1::SubscribeRequest request;
  request.set_after_sequence(after);
  request.set_history_id(history);
  request.set_until_head(true);
  auto context = Deadline();
  auto reader = feed.Subscribe(context.get(), request);
  v1::SubscribeResponse response;
  bool first = true, snapshot = false;
  while (reader->Read(&response)) {
    if (first) snapshot = response.has_snapshot();
    first = false;
  }
  EXPECT_TRUE(reader->Finish().ok());
  return snapshot;
}

TEST_F(RestoredPrimaryTest, FeedSendsSnapshotsExactlyWhenHistoriesDiverge) {
  auto primary = StartPrimary();
  ASSERT_NE(primary, nullptr);
  const uint64_t imported = Import(*primary);
  const v1::Backup backup = CreateBackup(*primary);
  const std::string old_history = backup.history_id();
  ASSERT_EQ(old_history.size(), 32u);
  EXPECT_FALSE(StartsWithSnapshot(*primary->feed, imported, old_history));
  EXPECT_FALSE(StartsWithSnapshot(*primary->feed, imported, ""));
  EXPECT_TRUE(StartsWithSnapshot(*primary->feed, imported + 5, old_history));
  EXPECT_TRUE(StartsWithSnapshot(*primary->feed, 3, "another-history"));
  EXPECT_EQ(primary->Terminate(), 0);

  ASSERT_EQ(Restore(Dir("backups"), Dir("restored")).exit_code, 0);
  auto restored = StartIngest({"--data_dir=" + Dir("restored")});
  ASSERT_NE(restored, nullptr);
  for (int n = 0; n < 3; ++n) {
    v1::UpsertRecordResponse upserted;
    ASSERT_TRUE(
        restored->ingest->UpsertRecord(Deadline().get(), Row(n), &upserted).ok());
  }
  // The old history, up to the backup's sequence, is the new one's start.
  EXPECT_FALSE(StartsWithSnapshot(*restored->feed, 10, old_history));
  EXPECT_FALSE(
      StartsWithSnapshot(*restored->feed, backup.sequence(), old_history));
  // Beyond it the old history's sequences stand for other changes.
  EXPECT_TRUE(
      StartsWithSnapshot(*restored->feed, backup.sequence() + 1, old_history));
  v1::SubscribeRequest request;
  request.set_until_head(true);
  auto context = Deadline();
  auto reader = restored->feed->Subscribe(context.get(), request);
  v1::SubscribeResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_NE(response.history_id(), old_history);
  EXPECT_EQ(response.history_id().size(), 32u);
  context->TryCancel();
  reader->Finish();
}

}  // namespace
}  // namespace kouryu

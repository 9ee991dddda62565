#ifndef KOURYU_TESTS_QUERY_SERVICE_REPLICA_FIXTURE_H_
#define KOURYU_TESTS_QUERY_SERVICE_REPLICA_FIXTURE_H_

// A real replica in a fresh temporary directory holding given records, and
// the names the query service resolves against it.

#include <memory>
#include <vector>

#include "common/gazetteer.h"
#include "common/keys.h"
#include "gtest/gtest.h"
#include "query-service/names.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query::testing {

class ReplicaWithRecords {
 public:
  // Applies `records` (each with its name, city and bureau set) as upserts
  // 1..n; check ok() after.
  explicit ReplicaWithRecords(const std::vector<v1::Record>& records) {
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(dir_.path(), ReplicaOptions());
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return;
    replica_ = *std::move(replica);
    std::vector<v1::Change> changes;
    for (const v1::Record& record : records) {
      v1::Change& change = changes.emplace_back();
      change.set_sequence(changes.size());
      change.set_kind(v1::CHANGE_KIND_UPSERT);
      change.set_name(record.name());
      *change.mutable_record() = record;
    }
    absl::Status applied = replica_->Apply(changes);
    EXPECT_TRUE(applied.ok()) << applied;
    if (!applied.ok()) return;
    names_ = std::make_unique<Names>(Gazetteer::Builtin(), *replica_);
  }

  bool ok() const { return names_ != nullptr; }
  const Replica& replica() const { return *replica_; }
  const Names& names() const { return *names_; }

 private:
  kouryu::testing::ScopedTempDir dir_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Names> names_;
};

// A record named cities/{city}/bureaus/{bureau}/records/{id}.
inline v1::Record NewRecord(const RecordName& name) {
  v1::Record record;
  record.set_name(FormatRecordName(name));
  record.mutable_city()->set_id(name.city);
  record.mutable_bureau()->set_id(name.bureau);
  return record;
}

}  // namespace kouryu::query::testing

#endif  // KOURYU_TESTS_QUERY_SERVICE_REPLICA_FIXTURE_H_

#include "ingest-service/group_commit.h"

#include <algorithm>
#include <limits>

#include "common/sequence_wait.h"
#include "common/status.h"

namespace kouryu::ingest {
namespace {

// A written batch up to this size is kept for the next group (see
// Pending::spare_); larger ones, from big imports, are freed.
constexpr size_t kMaxSpareBatchBytes = 8 << 20;

}  // namespace

// Guarded by GroupCommit::mutex_ (which a nested type cannot name).
struct GroupCommit::Group {
  bool done = false;
  absl::Status status;
};

void WriteOps::Put(rocksdb::ColumnFamilyHandle* cf, std::string key,
                   std::string value) {
  ops_.push_back({cf, std::move(key), std::move(value), false});
}

void WriteOps::Delete(rocksdb::ColumnFamilyHandle* cf, std::string key) {
  ops_.push_back({cf, std::move(key), "", true});
}

absl::Status WriteOps::AppendTo(rocksdb::WriteBatch& batch) const {
  for (const Op& op : ops_) {
    rocksdb::Status s = op.is_delete ? batch.Delete(op.cf, op.key)
                                     : batch.Put(op.cf, op.key, op.value);
    if (!s.ok()) return FromRocksDb(s, "preparing a write");
  }
  return absl::OkStatus();
}

std::optional<GroupCommit::Value> GroupCommit::Pending::Find(
    absl::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second.value;
}

absl::Status GroupCommit::Pending::Add(
    const WriteOps& ops, uint64_t last,
    std::vector<std::pair<std::string, Value>> values) {
  absl::Status added = ops.AppendTo(*batch_);
  if (!added.ok()) return added;
  for (auto& [key, value] : values) {
    values_[key] = {std::move(value), last};
  }
  assigned_ = last;
  latest_ = open_;
  return absl::OkStatus();
}

GroupCommit::GroupCommit(uint64_t head, WriteFunction write)
    : write_(std::move(write)), pending_(head), head_(head) {
  absl::MutexLock lock(&prepare_mutex_);
  pending_.open_ = std::make_shared<Group>();
}

absl::StatusOr<GroupCommit::Ticket> GroupCommit::Prepare(
    absl::FunctionRef<absl::Status(Pending&)> prepare) {
  absl::MutexLock lock(&prepare_mutex_);
  absl::Status prepared = prepare(pending_);
  if (!prepared.ok()) return prepared;
  return Ticket(pending_.latest_, pending_.assigned_);
}

absl::Status GroupCommit::Wait(const Ticket& ticket) {
  if (ticket.group_ == nullptr) return absl::OkStatus();
  const Group& group = *ticket.group_;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      // A group not done with no write in flight is the open one.
      struct Args {
        const Group* group;
        const bool* writing;
      } args{&group, &writing_};
      mutex_.Await(absl::Condition(
          +[](Args* a) { return a->group->done || !*a->writing; }, &args));
      if (group.done) return group.status;
      writing_ = true;
    }
    WriteOpenGroup();
  }
}

void GroupCommit::WriteOpenGroup() {
  std::unique_ptr<rocksdb::WriteBatch> batch;
  std::shared_ptr<Group> group;
  uint64_t first = 0, last = 0;
  {
    absl::MutexLock lock(&prepare_mutex_);
    batch = std::exchange(pending_.batch_,
                          pending_.spare_ != nullptr
                              ? std::move(pending_.spare_)
                              : std::make_unique<rocksdb::WriteBatch>());
    group = std::exchange(pending_.open_, std::make_shared<Group>());
    first = pending_.taken_ + 1;
    last = pending_.assigned_;
    pending_.taken_ = last;
  }
  const absl::Status status =
      batch->Count() > 0 ? write_(*batch, first, last) : absl::OkStatus();
  const bool keep_batch = batch->GetDataSize() <= kMaxSpareBatchBytes;
  if (keep_batch) batch->Clear();
  // Writes prepared on top of a failed group fail with it.
  std::shared_ptr<Group> failed_too;
  {
    absl::MutexLock lock(&prepare_mutex_);
    if (keep_batch) pending_.spare_ = std::move(batch);
    // Forget what this group made durable, or, when it failed, everything
    // prepared so far.
    if (status.ok()) {
      absl::erase_if(pending_.values_, [last](const auto& entry) {
        return entry.second.sequence <= last;
      });
    } else {
      pending_.values_.clear();
      pending_.batch_->Clear();
      failed_too = std::exchange(pending_.open_, std::make_shared<Group>());
      pending_.taken_ = pending_.assigned_;
    }
  }
  absl::MutexLock lock(&mutex_);
  if (status.ok()) head_ = std::max(head_, last);
  for (Group* settled : {group.get(), failed_too.get()}) {
    if (settled == nullptr) continue;
    settled->done = true;
    settled->status = status;
  }
  writing_ = false;
}

uint64_t GroupCommit::head() const {
  absl::MutexLock lock(&mutex_);
  return head_;
}

void GroupCommit::WhileIdle(absl::FunctionRef<void(uint64_t head)> visit) const {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(this, &GroupCommit::Idle));
  visit(head_);
}

bool GroupCommit::WaitForHeadAfter(uint64_t after, absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  if (after == std::numeric_limits<uint64_t>::max()) {
    // No head comes after the largest sequence: wait for the stop only.
    mutex_.AwaitWithDeadline(absl::Condition(&stopped_), deadline);
    return false;
  }
  return AwaitSequence(mutex_, head_, stopped_, after + 1, deadline);
}

void GroupCommit::StopWaiting() {
  absl::MutexLock lock(&mutex_);
  stopped_ = true;
}

bool GroupCommit::stopping() const {
  absl::MutexLock lock(&mutex_);
  return stopped_;
}

}  // namespace kouryu::ingest

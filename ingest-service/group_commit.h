#ifndef KOURYU_INGEST_SERVICE_GROUP_COMMIT_H_
#define KOURYU_INGEST_SERVICE_GROUP_COMMIT_H_

// Group commit: writers on many threads share one write of the database
// (and one fsync), and each learns the result of the write that carried
// its own operations.
//
// A writer first prepares its write (Prepare), one writer at a time: it
// reads what it needs, from the database and from what writes not yet
// durable left (Pending::Find), takes the next sequences and adds its
// operations to the open group. Then it waits for its group (Wait). The
// first waiter to find no group write in flight takes the open group and
// writes it through the WriteFunction (it is the group's leader); the
// writers that prepare meanwhile form the next group.
//
// When a group's write fails, every write of that group fails with its
// error, and so does every write prepared since: each may rest on what the
// failed group would have written. The open group is emptied and what
// pending writes left is forgotten; their sequences are never used. Later
// writes go on after them, so one failure fails no write prepared after
// the failure is known.
//
// Thread-safe. Used by the store (store.h); tests drive it with a write
// function of their own.

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kouryu::ingest {

// The operations of one write, collected before any reaches the open
// group, so that a write that fails while it prepares adds nothing.
class WriteOps {
 public:
  void Put(rocksdb::ColumnFamilyHandle* cf, std::string key, std::string value);
  void Delete(rocksdb::ColumnFamilyHandle* cf, std::string key);
  bool empty() const { return ops_.empty(); }
  absl::Status AppendTo(rocksdb::WriteBatch& batch) const;

 private:
  struct Op {
    rocksdb::ColumnFamilyHandle* cf;
    std::string key;
    std::string value;
    bool is_delete;
  };
  std::vector<Op> ops_;
};

class GroupCommit {
 private:
  // The writes of one group: whether its write is done, and its result.
  struct Group;

 public:
  // Writes one group: `batch` holds the operations of sequences `first` to
  // `last`. Called by one thread at a time, with no lock of the group
  // commit held; the group's writes fail with its error.
  using WriteFunction = std::function<absl::Status(
      rocksdb::WriteBatch& batch, uint64_t first, uint64_t last)>;
  // What a write not yet durable left under a key: the bytes it wrote, or
  // null when it removed the key.
  using Value = std::shared_ptr<const std::string>;

  // `head`: the latest durable sequence; new writes take the ones after it.
  GroupCommit(uint64_t head, WriteFunction write);
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // The writes prepared and not yet durable, as a write being prepared
  // sees them (reached only through Prepare).
  class Pending {
   public:
    // The last sequence taken so far.
    uint64_t assigned() const { return assigned_; }
    // What the latest write not yet durable left under `key`; nullopt when
    // none wrote it.
    std::optional<Value> Find(absl::string_view key) const;
    // Adds `ops` to the open group as sequences assigned() + 1 to `last`
    // (> assigned()), with what they leave under each key of `values`.
    absl::Status Add(const WriteOps& ops, uint64_t last,
                     std::vector<std::pair<std::string, Value>> values);

   private:
    friend class GroupCommit;
    struct Entry {
      Value value;
      uint64_t sequence = 0;
    };

    explicit Pending(uint64_t head) : assigned_(head), taken_(head) {}

    uint64_t assigned_;
    // The last sequence of the groups taken for writing (or failed).
    uint64_t taken_;
    absl::flat_hash_map<std::string, Entry> values_;
    std::unique_ptr<rocksdb::WriteBatch> batch_ =
        std::make_unique<rocksdb::WriteBatch>();
    // The emptied batch of the last group write, which becomes the next
    // open batch: its buffer keeps its capacity, so a group does not grow
    // (and fault in) its buffer from nothing. Not kept when larger than
    // kMaxSpareBatchBytes (group_commit.cc).
    std::unique_ptr<rocksdb::WriteBatch> spare_;
    // The group the open batch belongs to, and the group of the latest
    // sequence taken (null before the first write).
    std::shared_ptr<Group> open_;
    std::shared_ptr<Group> latest_;
  };

  // A prepared write, to Wait for.
  class Ticket {
   public:
    // The write's last sequence; for a write that added nothing, the
    // latest sequence taken before it (its outcome may rest on that one).
    uint64_t sequence() const { return sequence_; }

   private:
    friend class GroupCommit;
    Ticket(std::shared_ptr<Group> group, uint64_t sequence)
        : group_(std::move(group)), sequence_(sequence) {}
    std::shared_ptr<Group> group_;
    uint64_t sequence_;
  };

  // Prepares one write: calls `prepare` with the pending writes, one
  // preparing write at a time. Returns `prepare`'s error, or the ticket of
  // the write (of the latest write before it when it added nothing).
  absl::StatusOr<Ticket> Prepare(absl::FunctionRef<absl::Status(Pending&)> prepare)
      ABSL_LOCKS_EXCLUDED(prepare_mutex_);

  // Returns once the ticket's sequence and every one before it are durable,
  // or with the error of the group write that failed the ticket's write (or
  // the write its outcome rests on).
  absl::Status Wait(const Ticket& ticket)
      ABSL_LOCKS_EXCLUDED(prepare_mutex_, mutex_);

  // The latest durable sequence.
  uint64_t head() const ABSL_LOCKS_EXCLUDED(mutex_);
  // Calls `visit` with head() while no group write is in flight: none
  // starts until it returns, so the database holds exactly the sequences
  // up to head.
  void WhileIdle(absl::FunctionRef<void(uint64_t head)> visit) const
      ABSL_LOCKS_EXCLUDED(mutex_);

  // Blocks until head() > `after`, `deadline` passes or StopWaiting() is
  // called. Returns whether head() > `after`.
  bool WaitForHeadAfter(uint64_t after, absl::Time deadline) const
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Wakes every WaitForHeadAfter now and makes later ones return at once.
  void StopWaiting() ABSL_LOCKS_EXCLUDED(mutex_);
  bool stopping() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  // Takes the open group, writes it and settles its waiters. Called by the
  // one waiter that set writing_.
  void WriteOpenGroup() ABSL_LOCKS_EXCLUDED(prepare_mutex_, mutex_);
  bool Idle() const ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return !writing_; }

  const WriteFunction write_;

  absl::Mutex prepare_mutex_;
  Pending pending_ ABSL_GUARDED_BY(prepare_mutex_);

  // The durable head, the group in flight, and each group's result (the
  // `done` and `status` of every Group).
  mutable absl::Mutex mutex_;
  uint64_t head_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_GROUP_COMMIT_H_

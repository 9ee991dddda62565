#include "ingest-service/change_feed.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "ingest-service/call_limits.h"

namespace kouryu::ingest {
namespace {

// Changes sent per SubscribeResponse at most.
constexpr size_t kChangesPerResponse = 512;
// How often a Subscribe stream with nothing to send checks for cancellation.
constexpr absl::Duration kIdleCheck = absl::Seconds(1);
// Records per SubscribeResponse of a snapshot.
constexpr int kRecordsPerSnapshotPart = 256;
// Bytes per SubscribeResponse at most, besides the counts above, so that a
// batch of large records goes in several responses. A single change (or
// record) larger than this goes alone; kMaxMessageBytes (common/server.h),
// the server's send limit and a replica's receive limit, bounds it.
constexpr size_t kBytesPerResponse = size_t{4} << 20;

// Adds one change or record of `size` bytes to a response holding `bytes`
// so far (`items` of them): false when it must start the next response
// instead. Counts the field's tag and length and leaves room for the
// response's other fields.
bool Fits(size_t& bytes, int items, size_t size) {
  constexpr size_t kFieldOverhead = 6;       // tag + length varint
  constexpr size_t kResponseOverhead = 64;   // head_sequence, snapshot header
  size += kFieldOverhead;
  if (items > 0 && bytes + size > kBytesPerResponse - kResponseOverhead) {
    return false;
  }
  bytes += size;
  return true;
}

}  // namespace

grpc::Status ChangeFeedImpl::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  Slot slot(subscribers_, options_.max_subscribers);
  if (!slot.ok()) {
    return Busy("change-feed streams", options_.max_subscribers,
                "TOO_MANY_SUBSCRIBERS");
  }
  uint64_t cursor = request->after_sequence();
  const uint64_t head = store_.HeadSequence();
  // A subscriber beyond the head, or whose sequence stands for other
  // changes here (another history), holds changes the store does not: it
  // starts over from a snapshot (change_feed.proto).
  const bool diverged = !store_.Continues(request->history_id(), cursor);
  if (diverged) {
    LogWarn("subscriber_diverged",
            {{"after_sequence", cursor},
             {"history", request->history_id().substr(0, 64)},
             {"store_history", store_.history().id},
             {"head", head},
             {"action", "snapshot"}});
  }
  if (diverged || cursor + 1 < store_.FirstRetained()) {
    // The changes the caller needs are gone, or it needs to lose some: send
    // every record as of one sequence, then the changes after it.
    absl::StatusOr<uint64_t> sent = SendSnapshot(context, writer);
    if (!sent.ok()) return ToGrpcStatus(sent.status());
    cursor = *sent;
  }
  {
    // Tell the subscriber where the head is, even when nothing follows, so
    // that it knows when it has caught up.
    v1::SubscribeResponse hello;
    hello.set_head_sequence(store_.HeadSequence());
    if (!Write(context, writer, hello)) return grpc::Status::OK;
  }
  while (!context->IsCancelled()) {
    size_t limit = kChangesPerResponse;
    if (request->until_head()) {
      if (cursor >= head) return grpc::Status::OK;
      limit = std::min<uint64_t>(limit, head - cursor);
    }
    absl::StatusOr<std::vector<v1::Change>> changes =
        store_.ReadChanges(cursor, limit);
    if (!changes.ok()) return ToGrpcStatus(changes.status());
    if (changes->empty()) {
      if (request->until_head()) return grpc::Status::OK;
      if (store_.stopping()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the ingest server is shutting down");
      }
      store_.WaitForChangesAfter(cursor, absl::Now() + kIdleCheck);
      continue;
    }
    // Sequences of failed writes are never used, so a gap alone means
    // nothing; a gap below the retained changelog means they were trimmed
    // while this stream fell behind.
    if (changes->front().sequence() != cursor + 1 &&
        cursor + 1 < store_.FirstRetained()) {
      return ToGrpcStatus(WithReason(
          absl::AbortedError(absl::StrCat(
              "the changelog was trimmed past sequence ", cursor,
              " while this stream was behind; subscribe again")),
          "CHANGELOG_TRIMMED"));
    }
    cursor = changes->back().sequence();
    v1::SubscribeResponse response;
    size_t bytes = 0;
    for (v1::Change& change : *changes) {
      if (!Fits(bytes, response.changes_size(), change.ByteSizeLong())) {
        response.set_head_sequence(store_.HeadSequence());
        if (!Write(context, writer, response)) return grpc::Status::OK;
        response.Clear();
        bytes = 0;
        Fits(bytes, 0, change.ByteSizeLong());
      }
      *response.add_changes() = std::move(change);
    }
    response.set_head_sequence(store_.HeadSequence());
    if (!Write(context, writer, response)) break;
  }
  return grpc::Status::OK;
}

absl::StatusOr<uint64_t> ChangeFeedImpl::SendSnapshot(
    grpc::ServerContext* context,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  absl::StatusOr<std::unique_ptr<StoreSnapshot>> snapshot = store_.OpenSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  const uint64_t sequence = (*snapshot)->sequence();
  v1::SubscribeResponse response;
  size_t bytes = 0;
  bool first = true;
  bool open = true;
  auto send = [&](bool last) {
    v1::SnapshotPart* part = response.mutable_snapshot();
    part->set_sequence(sequence);
    part->set_first(first);
    part->set_last(last);
    response.set_head_sequence(store_.HeadSequence());
    open = Write(context, writer, response);
    response.Clear();
    bytes = 0;
    first = false;
  };
  absl::Status status = (*snapshot)->ForEach(
      [&](absl::string_view key, v1::Record& record) {
        const size_t size = record.ByteSizeLong();
        if (!Fits(bytes, response.snapshot().records_size(), size)) {
          send(/*last=*/false);
          if (!open) return false;
          Fits(bytes, 0, size);
        }
        *response.mutable_snapshot()->add_records() = std::move(record);
        if (response.snapshot().records_size() == kRecordsPerSnapshotPart) {
          send(/*last=*/false);
        }
        return open && !context->IsCancelled();
      });
  if (!status.ok()) return status;
  if (open && !context->IsCancelled()) send(/*last=*/true);
  if (!open || context->IsCancelled()) {
    return absl::CancelledError("the subscriber went away during a snapshot");
  }
  return sequence;
}

bool ChangeFeedImpl::Write(grpc::ServerContext* context,
                           grpc::ServerWriter<v1::SubscribeResponse>* writer,
                           v1::SubscribeResponse& response) {
  response.set_history_id(store_.history().id);
  uint64_t alarm = unread_.Arm(absl::Now() + options_.unread_timeout,
                               [context] { context->TryCancel(); });
  bool sent = writer->Write(response);
  unread_.Disarm(alarm);
  return sent;
}

grpc::Status ChangeFeedImpl::GetDigest(grpc::ServerContext* context,
                                       const v1::GetDigestRequest* request,
                                       v1::Digest* response) {
  absl::StatusOr<ContentDigest> digest = store_.Digest();
  if (!digest.ok()) return ToGrpcStatus(digest.status());
  response->set_sequence(digest->sequence);
  response->set_record_count(digest->record_count);
  response->set_digest(digest->digest);
  return grpc::Status::OK;
}

}  // namespace kouryu::ingest

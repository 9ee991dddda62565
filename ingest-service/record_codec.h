#ifndef KOURYU_INGEST_SERVICE_RECORD_CODEC_H_
#define KOURYU_INGEST_SERVICE_RECORD_CODEC_H_

// The bytes the store writes for a record and for a change, built so that
// a record's content is serialized once per write: its etag, its stored
// value and its changelog entry all reuse those bytes. Each function's
// result equals what protobuf's own serialization of the same message
// gives (tests/ingest-service/record_codec_test.cc checks it).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::ingest {

// `record` serialized without its name-independent metadata (source,
// timestamps, create_sequence, etag), deterministically: the bytes its
// etag hashes. `record` is unchanged on return (the metadata is moved out
// and back, so nothing large is copied).
std::string ContentBytes(v1::Record& record);

// The etag of content serialized by ContentBytes: 16 hex digits.
std::string EtagOf(absl::string_view content_bytes);

// A record with its ContentBytes and etag, which no metadata the store sets
// changes: computed by the writer, before the store's commit lock.
struct ContentRecord {
  v1::Record record;
  std::string content;
  std::string etag;
};
ContentRecord WithContent(v1::Record record);

// `record` serialized, given its ContentBytes: the metadata fields have the
// highest field numbers, so the whole is the content followed by the
// metadata, and the content is not serialized a second time.
std::string RecordBytes(const v1::Record& record, std::string content_bytes);

// A serialized v1::Change with these fields; `record`, when not null, is a
// record already serialized (by RecordBytes).
std::string ChangeBytes(uint64_t sequence, v1::ChangeKind kind,
                        const std::string& name, const std::string* record,
                        const google::protobuf::Timestamp& commit_time);

// INTERNAL (reason STORAGE_CORRUPTED): the stored `what` at `key` does not
// parse.
absl::Status Corrupted(absl::string_view what, absl::string_view key);

// A stored record or change, read from the value at `key`; Corrupted when
// it does not parse.
absl::StatusOr<v1::Record> ParseStoredRecord(absl::string_view value,
                                             absl::string_view key);
absl::StatusOr<v1::Change> ParseStoredChange(absl::string_view value,
                                             absl::string_view key);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_RECORD_CODEC_H_

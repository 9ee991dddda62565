#include "ingest-service/record_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status.h"

namespace kouryu::ingest {

std::string ContentBytes(v1::Record& record) {
  std::unique_ptr<v1::SourceRef> source(
      record.has_source() ? record.release_source() : nullptr);
  std::unique_ptr<google::protobuf::Timestamp> create_time(
      record.has_create_time() ? record.release_create_time() : nullptr);
  std::unique_ptr<google::protobuf::Timestamp> update_time(
      record.has_update_time() ? record.release_update_time() : nullptr);
  const uint64_t create_sequence = record.create_sequence();
  record.clear_create_sequence();
  std::string etag = std::move(*record.mutable_etag());
  record.clear_etag();

  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&out);
  }

  record.set_allocated_source(source.release());
  record.set_allocated_create_time(create_time.release());
  record.set_allocated_update_time(update_time.release());
  record.set_create_sequence(create_sequence);
  *record.mutable_etag() = std::move(etag);
  return bytes;
}

std::string EtagOf(absl::string_view content_bytes) {
  return Hex64(Fnv1a64(content_bytes));
}

ContentRecord WithContent(v1::Record record) {
  ContentRecord out{std::move(record), "", ""};
  out.content = ContentBytes(out.record);
  out.etag = EtagOf(out.content);
  return out;
}

std::string RecordBytes(const v1::Record& record, std::string content_bytes) {
  // A message without unknown fields serializes its fields in field-number
  // order; with unknown fields it does not, and is serialized whole.
  if (!record.GetReflection()->GetUnknownFields(record).empty()) {
    return record.SerializeAsString();
  }
  v1::Record metadata;
  if (record.has_source()) *metadata.mutable_source() = record.source();
  if (record.has_create_time()) {
    *metadata.mutable_create_time() = record.create_time();
  }
  if (record.has_update_time()) {
    *metadata.mutable_update_time() = record.update_time();
  }
  metadata.set_etag(record.etag());
  metadata.set_create_sequence(record.create_sequence());
  std::string bytes = std::move(content_bytes);
  metadata.AppendToString(&bytes);
  return bytes;
}

std::string ChangeBytes(uint64_t sequence, v1::ChangeKind kind,
                        const std::string& name, const std::string* record,
                        const google::protobuf::Timestamp& commit_time) {
  // Fields serialize in field-number order, and an embedded message as its
  // tag, its length and its own bytes.
  static_assert(v1::Change::kNameFieldNumber < v1::Change::kRecordFieldNumber &&
                v1::Change::kRecordFieldNumber <
                    v1::Change::kCommitTimeFieldNumber);
  v1::Change head;
  head.set_sequence(sequence);
  head.set_kind(kind);
  head.set_name(name);
  std::string bytes = head.SerializeAsString();
  if (record != nullptr) {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
        v1::Change::kRecordFieldNumber,
        google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    out.WriteVarint32(static_cast<uint32_t>(record->size()));
    out.WriteRaw(record->data(), static_cast<int>(record->size()));
  }
  v1::Change tail;
  *tail.mutable_commit_time() = commit_time;
  tail.AppendToString(&bytes);
  return bytes;
}

absl::Status Corrupted(absl::string_view what, absl::string_view key) {
  return WithReason(absl::InternalError(absl::StrCat(
                        "cannot parse stored ", what, " at key \"",
                        absl::CEscape(key), "\"")),
                    "STORAGE_CORRUPTED");
}

namespace {

template <typename Message>
absl::StatusOr<Message> ParseStored(absl::string_view what,
                                    absl::string_view value,
                                    absl::string_view key) {
  Message message;
  if (!message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return Corrupted(what, key);
  }
  return message;
}

}  // namespace

absl::StatusOr<v1::Record> ParseStoredRecord(absl::string_view value,
                                             absl::string_view key) {
  return ParseStored<v1::Record>("record", value, key);
}

absl::StatusOr<v1::Change> ParseStoredChange(absl::string_view value,
                                             absl::string_view key) {
  return ParseStored<v1::Change>("change", value, key);
}

}  // namespace kouryu::ingest

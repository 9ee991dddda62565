#ifndef KOURYU_QUERY_SERVICE_RECORD_WIRE_H_
#define KOURYU_QUERY_SERVICE_RECORD_WIRE_H_

// Responses built from records as the replica stores them (serialized
// v1::Record), without parsing and re-serializing them. A serialized
// message is the concatenation of its fields, so a response is its
// records' field entries followed by its other fields serialized as a
// message of its own; the bytes equal SerializeAsString of the same
// response.

#include <string>

#include "absl/strings/string_view.h"
#include "kouryu/v1/query_service.pb.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::query {

// Clears what the BASIC view leaves out (RECORD_VIEW_UNSPECIFIED is BASIC).
void ApplyView(v1::RecordView view, v1::Record& record);

// Appends `record`, a serialized v1::Record, as field 1 of a message
// (ListRecordsResponse.records), with only the fields `view` shows, copied
// as they are. False, with `out` in an unspecified state, when `record`
// does not parse.
bool AppendRecordField(v1::RecordView view, absl::string_view record,
                       std::string& out);

// Parses into `out` only what places a stored record: its name, city,
// bureau and create_sequence (the other fields are skipped, not copied).
// False when `record` does not parse.
bool ParsePlacement(absl::string_view record, v1::Record& out);

// The name of a stored record, as far as it parses (for messages).
std::string NameOfStored(absl::string_view record);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_RECORD_WIRE_H_

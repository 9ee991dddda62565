#include "query-service/record_wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "common/coding.h"

namespace kouryu::query {
namespace {

using google::protobuf::internal::WireFormatLite;


// Calls `visit(field_number, entry)` for each field entry of `record` (a
// serialized message), its tag included, in order; false if `record` does
// not parse.
bool ForEachField(absl::string_view record,
                  absl::FunctionRef<void(int, absl::string_view)> visit) {
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(record.data()),
      static_cast<int>(record.size()));
  for (;;) {
    const int begin = input.CurrentPosition();
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;
    if (!WireFormatLite::SkipField(&input, tag)) return false;
    visit(WireFormatLite::GetTagFieldNumber(tag),
          record.substr(begin, input.CurrentPosition() - begin));
  }
  return input.CurrentPosition() == static_cast<int>(record.size());
}

// The fields of `record` that the BASIC view shows, as they are; false if
// `record` does not parse.
bool AppendBasicFields(absl::string_view record, std::string& out) {
  return ForEachField(record, [&out](int field, absl::string_view entry) {
    switch (field) {
      case v1::Record::kSectionsFieldNumber:
      case v1::Record::kEventsFieldNumber:
      case v1::Record::kSourceHtmlFieldNumber:
        return;  // FULL only
    }
    out.append(entry.data(), entry.size());
  });
}

}  // namespace

void ApplyView(v1::RecordView view, v1::Record& record) {
  if (view == v1::RECORD_VIEW_FULL) return;
  record.clear_sections();
  record.clear_events();
  record.clear_source_html();
}

bool AppendRecordField(v1::RecordView view, absl::string_view record,
                       std::string& out) {
  static_assert(v1::ListRecordsResponse::kRecordsFieldNumber == 1);
  constexpr char kRecordsTag = (1 << 3) | 2;  // field 1, length-delimited
  out.push_back(kRecordsTag);
  if (view == v1::RECORD_VIEW_FULL) {
    PutVarint64(out, record.size());
    out.append(record.data(), record.size());
    return true;
  }
  std::string basic;
  basic.reserve(record.size());
  if (!AppendBasicFields(record, basic)) return false;
  PutVarint64(out, basic.size());
  out.append(basic);
  return true;
}

bool ParsePlacement(absl::string_view record, v1::Record& out) {
  std::string placement;
  const bool parsed =
      ForEachField(record, [&placement](int field, absl::string_view entry) {
        switch (field) {
          case v1::Record::kNameFieldNumber:
          case v1::Record::kCityFieldNumber:
          case v1::Record::kBureauFieldNumber:
          case v1::Record::kCreateSequenceFieldNumber:
            placement.append(entry.data(), entry.size());
        }
      });
  return parsed && out.ParseFromString(placement);
}

std::string NameOfStored(absl::string_view record) {
  v1::Record parsed;
  parsed.ParseFromArray(record.data(), static_cast<int>(record.size()));
  return parsed.name();
}

}  // namespace kouryu::query

#ifndef KOURYU_INGEST_SERVICE_NORMALIZER_H_
#define KOURYU_INGEST_SERVICE_NORMALIZER_H_

// Validates a raw row and turns it into a normalized Record: category enum,
// bureau and department split, partner city and mentioned cities through the
// gazetteer, plain results text, and the record's name, whose record ID is
// derived from the natural key (fiscal year, bureau, department, item) so the
// same row always gets the same name.

#include "absl/strings/string_view.h"

#include <vector>

#include "absl/status/statusor.h"
#include "common/gazetteer.h"
#include "common/status.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::ingest {

// Largest accepted field sizes, in bytes of UTF-8.
inline constexpr size_t kMaxCategoryBytes = 256;
inline constexpr size_t kMaxDepartmentBytes = 256;
inline constexpr size_t kMaxTitleBytes = 1024;
inline constexpr size_t kMaxResultsBytes = 64 * 1024;
// Largest record a row may become, serialized, before the store adds its
// timestamps and etag.
inline constexpr size_t kMaxRecordBytes = 512 * 1024;
// An accepted record is at most kMaxRecordExpansion times its row's text
// fields plus kRecordOverheadBytes (names from the gazetteer, the resource
// name, the source). Most of it is the events' bound (kMaxEventsExpansion,
// where a date may come from 3 bytes: ㋃ is 4月 after NFKC); then the
// results text and its sections after NFKC, and the source HTML.
inline constexpr size_t kMaxRecordExpansion = 160;
inline constexpr size_t kRecordOverheadBytes = 4096;
// Fiscal years accepted.
inline constexpr int kMinFiscalYear = 1989;
inline constexpr int kMaxFiscalYear = 2100;

struct NormalizeOptions {
  // Prefix of every field path in violations and warnings ("rows[12]." or
  // "record.").
  absl::string_view field_prefix;
  // Warnings become violations.
  bool strict = false;
};

struct NormalizedRecord {
  v1::Record record;
  // Accepted but worth a look: an item that names a place (国…市/州/県/省)
  // the gazetteer does not know, so the record went to "unassigned".
  std::vector<FieldViolation> warnings;
};

// Thread-safe; holds a reference to the gazetteer, which must outlive it.
class Normalizer {
 public:
  explicit Normalizer(const Gazetteer& gazetteer) : gazetteer_(gazetteer) {}

  // Returns the record with name, city, bureau, texts, sections, events and
  // source set (no timestamps or etag: the store sets those). On bad input,
  // InvalidArgument whose BadRequest lists every violation.
  absl::StatusOr<NormalizedRecord> Normalize(
      const v1::RawRecord& raw, const v1::SourceRef& source,
      const NormalizeOptions& options) const;

 private:
  const Gazetteer& gazetteer_;
};

// The category enum for a published label ("①姉妹・友好都市...").
v1::Category CategoryFromLabel(absl::string_view label);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_NORMALIZER_H_

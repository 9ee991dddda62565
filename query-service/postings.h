#ifndef KOURYU_QUERY_SERVICE_POSTINGS_H_
#define KOURYU_QUERY_SERVICE_POSTINGS_H_

// Storage of the search index in the replica's "grams" column family.
//
// Records are numbered by an index ID (RecordIndexId): the changelog
// sequence that created the record, the same on every replica. For each
// gram (search_text.h) the family holds:
//
//   GramCountKey(gram, level)        -> records in which the gram has
//                                       `level`, 8 bytes little-endian,
//                                       changed by Merge with signed deltas
//   PostingKey(gram, level, chunk)   -> index IDs of the records in which
//                                       the gram has `level`, whose
//                                       ID >> kChunkBits is `chunk`;
//                                       ascending, delta-varint coded,
//                                       changed by Merge (adds, removes)
//
// Count keys start with 'c', posting keys with 'p'. A gram's posting keys
// sort by level (highest first), then by chunk, so reading them in order
// yields candidates by decreasing score bound and, within a level, by
// increasing ID. Writes are merged
// per batch: one Merge per (gram, level, chunk) touched, not per record.
//
// PostingsMergeOperator() applies both kinds of operand.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class MergeOperator;
}  // namespace rocksdb

namespace kouryu::query {

inline constexpr int kChunkBits = 14;

// The record's index ID: its create_sequence; for a record stored without
// one, a hash of its name with the top bit set (so it cannot meet a
// sequence).
uint64_t RecordIndexId(const v1::Record& record);

std::string GramCountKey(absl::string_view gram, int level);
// The prefix of every count key of `gram`; the level is the one byte after.
std::string GramCountPrefix(absl::string_view gram);
std::string PostingKey(absl::string_view gram, int level, uint64_t chunk);
// The prefix of every posting key of `gram`, and of those at `level`.
std::string PostingPrefix(absl::string_view gram);
std::string PostingLevelPrefix(absl::string_view gram, int level);

// The level and chunk of a posting key after its PostingPrefix; nullopt
// when malformed.
struct PostingKeyParts {
  int level = 0;
  uint64_t chunk = 0;
};
std::optional<PostingKeyParts> ParsePostingKeySuffix(absl::string_view rest);

// Posting list values: ascending IDs.
std::string EncodeIds(const std::vector<uint64_t>& ascending);
// nullopt when malformed.
std::optional<std::vector<uint64_t>> DecodeIds(absl::string_view value);

// Merge operands.
std::string CountDelta(int64_t delta);
std::optional<int64_t> DecodeCount(absl::string_view value);
// `add` and `remove` ascending and disjoint.
std::string PostingDelta(const std::vector<uint64_t>& add,
                         const std::vector<uint64_t>& remove);

std::shared_ptr<rocksdb::MergeOperator> PostingsMergeOperator();

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_POSTINGS_H_

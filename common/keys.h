#ifndef KOURYU_COMMON_KEYS_H_
#define KOURYU_COMMON_KEYS_H_

// The one place where resource names and storage keys are spelled.
//
// Resource names:  cities/{city}/bureaus/{bureau}/records/{record}
// Storage keys:    each component escaped (0x00 -> 0x00 0xFF) and terminated
//                  by 0x00 0x01, so keys sort by city, then bureau, then
//                  record, and no two distinct names share a key or a prefix.
// Changelog keys:  the sequence as 8 big-endian bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace kouryu {

// City ID of records whose item names no single city.
inline constexpr absl::string_view kUnassignedCityId = "unassigned";
// Stands for "any" in a parent ("cities/-/bureaus/{bureau}"), per AIP-159.
inline constexpr absl::string_view kWildcardId = "-";

// True for IDs of the form [a-z0-9][a-z0-9-]{0,62}.
bool IsValidId(absl::string_view id);

struct RecordName {
  std::string city;
  std::string bureau;
  std::string record;

  friend bool operator==(const RecordName&, const RecordName&) = default;
};

std::string FormatRecordName(const RecordName& name);
// InvalidArgument unless `name` is a well-formed record name.
absl::StatusOr<RecordName> ParseRecordName(absl::string_view name);

// A ListRecords parent: city is an ID or "-"; bureau is empty when the parent
// names no bureau.
struct Parent {
  std::string city;
  std::string bureau;
};
// Accepts "cities/{city}", "cities/{city}/bureaus/{bureau}",
// "cities/-/bureaus/{bureau}" and "cities/-".
absl::StatusOr<Parent> ParseParent(absl::string_view parent);

// Appends one escaped, terminated component to `key`.
void AppendKeyComponent(std::string& key, absl::string_view component);

// Key of a record in the records column family.
std::string RecordKey(const RecordName& name);
// Prefix of all record keys of a city, or of a city and bureau.
std::string CityPrefix(absl::string_view city);
std::string CityBureauPrefix(absl::string_view city, absl::string_view bureau);
// Inverse of RecordKey; nullopt when `key` is not a record key.
std::optional<RecordName> DecodeRecordKey(absl::string_view key);

// The components of a key made of AppendKeyComponent calls; nullopt when
// `key` is not such a key.
std::optional<std::vector<std::string>> DecodeKeyComponents(
    absl::string_view key);

std::string SequenceKey(uint64_t sequence);
// nullopt unless `key` is exactly 8 bytes.
std::optional<uint64_t> DecodeSequenceKey(absl::string_view key);

}  // namespace kouryu

#endif  // KOURYU_COMMON_KEYS_H_

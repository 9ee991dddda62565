#ifndef KOURYU_COMMON_SLICE_H_
#define KOURYU_COMMON_SLICE_H_

#include <rocksdb/slice.h>

#include "absl/strings/string_view.h"

namespace kouryu {

// A view of a RocksDB slice (Abseil's string_view is not std::string_view in
// this build of Abseil, so Slice::ToStringView does not fit).
inline absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

}  // namespace kouryu

#endif  // KOURYU_COMMON_SLICE_H_

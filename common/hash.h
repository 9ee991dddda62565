#ifndef KOURYU_COMMON_HASH_H_
#define KOURYU_COMMON_HASH_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace kouryu {

// 64-bit FNV-1a. Stable across builds and platforms: record IDs and etags are
// derived from it and must not change when the code is rebuilt.
inline uint64_t Fnv1a64(absl::string_view data,
                        uint64_t seed = 0xcbf29ce484222325ULL) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Lowercase hexadecimal, 16 digits.
inline std::string Hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

}  // namespace kouryu

#endif  // KOURYU_COMMON_HASH_H_

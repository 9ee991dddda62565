// Fixed-width and varint encodings: the one place where kouryu turns
// integers into key and value bytes and back.
//
// Big-endian fixed-width integers sort as bytes in numeric order, so they
// are used wherever an integer is part of a RocksDB key (changelog
// sequences, search IDs, sort keys, scores) or where one stored value must
// compare like a key (counts, the applied sequence). Varints (LEB128, as
// protobuf writes them) are used inside values, where size matters and
// order does not.
//
// Every function is pure and safe to call from any thread. Decoders never
// read past their input: they return std::nullopt / false on a short or
// malformed input and leave the output unspecified.
#ifndef KOURYU_COMMON_CODING_H_
#define KOURYU_COMMON_CODING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace kouryu {

// Appends `value` as 8 big-endian bytes.
inline void PutFixed64BigEndian(std::string& out, uint64_t value) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(bytes, sizeof(bytes));
}

// `value` as 8 big-endian bytes.
inline std::string EncodeFixed64BigEndian(uint64_t value) {
  std::string out;
  out.reserve(8);
  PutFixed64BigEndian(out, value);
  return out;
}

// The value of exactly 8 big-endian bytes; nullopt for any other size.
inline std::optional<uint64_t> DecodeFixed64BigEndian(absl::string_view in) {
  if (in.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (unsigned char c : in) value = (value << 8) | c;
  return value;
}

// Appends `value` as 2 big-endian bytes.
inline void PutFixed16BigEndian(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

// Reads 2 big-endian bytes from the front of `in` and removes them; false
// if `in` is shorter than 2 bytes.
inline bool GetFixed16BigEndian(absl::string_view& in, uint16_t& value) {
  if (in.size() < 2) return false;
  value = static_cast<uint16_t>((static_cast<uint8_t>(in[0]) << 8) |
                                static_cast<uint8_t>(in[1]));
  in.remove_prefix(2);
  return true;
}

// Bytes PutVarint64 writes for `value`: 1 to 10.
inline size_t VarintLength(uint64_t value) {
  size_t length = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++length;
  }
  return length;
}

// Appends `value` as a varint (7 bits a byte, low bits first).
inline void PutVarint64(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Reads a varint from the front of `in` and removes it; false if `in` ends
// inside it or it runs past 10 bytes.
inline bool GetVarint64(absl::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace kouryu

#endif  // KOURYU_COMMON_CODING_H_

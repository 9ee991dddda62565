#ifndef KOURYU_COMMON_DIGEST_H_
#define KOURYU_COMMON_DIGEST_H_

// The content digest that lets a test (or an operator) compare the system
// of record with a replica: an FNV-1a chain over every record's storage key
// and etag, in key order. Equal content at equal sequences gives equal
// digests.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/hash.h"

namespace kouryu {

// What Store::Digest and Replica::Digest answer: the digest of all records
// as of `sequence`, and how many there are.
struct ContentDigest {
  uint64_t sequence = 0;
  uint64_t record_count = 0;
  std::string digest;  // DigestBuilder::hex()
};

class DigestBuilder {
 public:
  void Add(absl::string_view record_key, absl::string_view etag) {
    state_ = Fnv1a64(record_key, state_);
    state_ = Fnv1a64("\x1f", state_);
    state_ = Fnv1a64(etag, state_);
    state_ = Fnv1a64("\x1e", state_);
    ++count_;
  }
  uint64_t count() const { return count_; }
  std::string hex() const { return Hex64(state_); }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
  uint64_t count_ = 0;
};

}  // namespace kouryu

#endif  // KOURYU_COMMON_DIGEST_H_

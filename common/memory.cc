#include "common/memory.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, present only when the program is linked
// with jemalloc (Debian's libjemalloc2 exports it unprefixed).
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp,
                       void* newp, size_t newlen) __attribute__((weak));

namespace kouryu {

void ReturnFreeMemory() {
  if (mallctl != nullptr) {
    // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena's unused dirty pages.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

}  // namespace kouryu

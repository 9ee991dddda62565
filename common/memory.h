#ifndef KOURYU_COMMON_MEMORY_H_
#define KOURYU_COMMON_MEMORY_H_

namespace kouryu {

// Gives the memory that the allocator holds free back to the system now:
// jemalloc's dirty pages in every arena when the process runs on jemalloc
// (common/jemalloc_config.cc), glibc's free arena space otherwise. For the
// end of a call that allocated far more than the server holds at rest (an
// ImportTable), so that the resident set falls at once instead of after
// the allocator's decay time.
void ReturnFreeMemory();

}  // namespace kouryu

#endif  // KOURYU_COMMON_MEMORY_H_

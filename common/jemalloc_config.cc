// jemalloc's settings for kouryu-ingest and kouryu-query (linked into both
// when KOURYU_JEMALLOC is on; the top-level CMakeLists.txt says why they
// use jemalloc). jemalloc reads this symbol at its first allocation; the
// MALLOC_CONF environment variable, read after it, overrides any setting.
//
// A background thread returns freed pages to the kernel within a second
// (dirty_decay_ms) and at once after that (muzzy_decay_ms:0), rather than
// keeping a peak for jemalloc's default 10 s, or for good without
// allocation activity to trigger the purge. A shorter decay costs the
// steady write path: at 100 ms an IngestRecords stream spent about a
// sixth of its CPU faulting in pages that had just been returned
// (docs/benchmarks.md). A large ImportTable does not wait for the decay:
// it returns its memory when it ends (ReturnFreeMemory, common/memory.h),
// and the fault test ImportMemoryStaysWithinAFewTimesTheFile holds the
// server to that.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf =
    "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

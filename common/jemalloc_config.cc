// jemalloc's settings for kouryu-ingest and kouryu-query (linked into both
// when KOURYU_JEMALLOC is on; the top-level CMakeLists.txt says why they
// use jemalloc). jemalloc reads this symbol at its first allocation; the
// MALLOC_CONF environment variable, read after it, overrides any setting.
//
// A background thread returns freed pages to the kernel within 100 ms
// (dirty_decay_ms) and at once after that (muzzy_decay_ms:0), so a large
// ImportTable leaves the resident set where it was before (the fault test
// ImportMemoryStaysWithinAFewTimesTheFile holds the servers to that) rather
// than keeping its peak for jemalloc's default 10 s, or for good without
// allocation activity to trigger the purge.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf =
    "background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0";
}

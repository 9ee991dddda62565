#ifndef KOURYU_BENCH_SCENARIOS_H_
#define KOURYU_BENCH_SCENARIOS_H_

// The calls the benchmark scenarios make, as AsyncCalls for RunLoad
// (load.h): typed requests whose keys vary from call to call, over the
// records that TableGenerator (tests/support/generator.h) writes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/load.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/generator.h"

namespace kouryu::bench {

// ListRecords parents that generated records fill: every city, cities,
// bureaus across cities, a city and bureau, the unassigned records.
const std::vector<std::string>& ListParents();
// SearchRecords queries found in generated text (and one that is not).
const std::vector<std::string>& SearchTerms();

// grpc.health.v1.Health/Check of the whole server: an empty RPC on the
// server's own stack and settings. Fails unless the answer is SERVING.
AsyncCall NullRpc(grpc::health::v1::Health::Stub& stub);

// GetRecord of names[(i * stride) % size]: every call another record.
// The answer must be that record (its name is read from the wire, the rest
// is not parsed).
AsyncCall GetRecords(std::shared_ptr<grpc::Channel> channel,
                     const std::vector<std::string>& names);

// The first page of `page_size` records of ListParents()[i % size]. The
// answer must hold at most `page_size` records, each under the parent
// (read from the wire as GetRecords does).
AsyncCall ListRecords(std::shared_ptr<grpc::Channel> channel,
                      v1::RecordView view, int page_size);
// The same over `parents` (which must outlive the call), one chosen as
// GetRecords chooses a name.
AsyncCall ListRecords(std::shared_ptr<grpc::Channel> channel,
                      v1::RecordView view, int page_size,
                      const std::vector<std::string>& parents);

// The first page of `page_size` results of SearchTerms()[i % size].
AsyncCall SearchRecords(v1::QueryService::Stub& stub, int page_size);

// UpsertRecord of generated row `*next_row` (then the next one, ...): each
// call writes a new record.
AsyncCall UpsertRecords(v1::IngestService::Stub& stub,
                        const testing::TableGenerator& generator,
                        std::atomic<uint64_t>* next_row);

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_SCENARIOS_H_

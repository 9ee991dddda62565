#include "query-service/search.h"

#include <algorithm>
#include <map>
#include <optional>
#include <queue>

#include "absl/status/status.h"
#include "common/coding.h"
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

// Candidates checked per level to estimate its shares, and at most this
// many sampled for an estimate in all; more when a scope or filter makes
// the share of matches smaller.
constexpr int kSamplePerLevel = 8, kSampleBudget = 64;
constexpr int kScopedSamplePerLevel = 32, kScopedSampleBudget = 256;
// Weight of the share over all levels when estimating one level's share of
// holders that pass scope and filter (a few samples say little alone).
constexpr double kPooledWeight = 16;

std::string Position(int score, uint64_t id) {
  std::string position = EncodeFixed64BigEndian(~static_cast<uint64_t>(score));
  PutFixed64BigEndian(position, id);
  return position;
}

// Candidates checked, and how many of them hold the query as a substring,
// at one level.
struct Tally {
  int64_t checked = 0;
  int64_t holding = 0;
  int64_t matched = 0;  // Holding, in scope and passing the filter.
};

// What a candidate turned out to be.
struct Checked {
  bool holds = false;             // Its text holds the query.
  std::optional<SearchHit> hit;   // It also is in scope and passes the filter.
};

// Checks candidates against the query, scope and filter.
class Checker {
 public:
  Checker(const SearchReader& reader, const SearchSpec& spec)
      : reader_(reader), spec_(spec) {}

  // A record no longer there neither holds nor matches.
  absl::StatusOr<Checked> Check(uint64_t id) const {
    absl::StatusOr<SearchReader::Entry> entry = reader_.GetEntry(id);
    if (absl::IsNotFound(entry.status())) return Checked{};
    if (!entry.ok()) return entry.status();
    const int score = Score(entry->fields, spec_.folded_query);
    if (score == 0) return Checked{};
    std::optional<RecordName> name = DecodeRecordKey(entry->key);
    const Parent& parent = spec_.parent;
    if (!name || (parent.city != kWildcardId && name->city != parent.city) ||
        (!parent.bureau.empty() && name->bureau != parent.bureau)) {
      return Checked{true, std::nullopt};
    }
    if (spec_.filter != nullptr && !spec_.filter->empty()) {
      absl::StatusOr<v1::Record> record = reader_.GetByKey(entry->key);
      if (absl::IsNotFound(record.status())) return Checked{};
      if (!record.ok()) return record.status();
      if (!spec_.filter->Matches(*record)) return Checked{true, std::nullopt};
    }
    return Checked{true, SearchHit{Position(score, id), std::move(entry->key), score}};
  }

 private:
  const SearchReader& reader_;
  const SearchSpec& spec_;
};

}  // namespace

absl::StatusOr<SearchPage> Search(const SearchReader& reader,
                                  const SearchSpec& spec,
                                  const std::function<bool()>& cancelled) {
  const std::vector<std::string> grams = QueryGrams(spec.folded_query);
  std::string driver;
  std::map<int, int64_t> levels;  // Of the driver.
  int64_t candidates = -1;
  for (const std::string& gram : grams) {
    absl::StatusOr<std::map<int, int64_t>> counts = reader.LevelCounts(gram);
    if (!counts.ok()) return counts.status();
    int64_t n = 0;
    for (const auto& [level, count] : *counts) n += count;
    if (candidates < 0 || n < candidates) {
      driver = gram;
      levels = *std::move(counts);
      candidates = n;
    }
  }
  SearchPage out;
  if (candidates <= 0) return out;

  const Checker checker(reader, spec);
  // The best page_size + 1 hits after `after`; the extra one tells whether
  // another page follows. The top is the worst.
  const size_t need = spec.page_size + 1;
  auto worse = [](const SearchHit& a, const SearchHit& b) {
    return a.position < b.position;
  };
  std::priority_queue<SearchHit, std::vector<SearchHit>, decltype(worse)> page(worse);
  std::map<int, Tally> tally;
  int64_t matched = 0;
  bool settled = false;
  absl::Status status;
  int64_t polled = 0;
  absl::Status scanned = reader.ForEachPosting(driver, [&](int level, uint64_t id) {
    if ((polled++ & 255) == 0 && cancelled && cancelled()) {
      status = absl::CancelledError("the search was cancelled");
      return false;
    }
    if (page.size() == need && candidates > kExactSearchCount &&
        level < kMaxGramLevel && Position(level, id) > page.top().position) {
      settled = true;
      return false;
    }
    absl::StatusOr<Checked> checked = checker.Check(id);
    if (!checked.ok()) {
      status = checked.status();
      return false;
    }
    Tally& t = tally[level];
    ++t.checked;
    if (checked->holds) ++t.holding;
    if (!checked->hit) return true;
    ++t.matched;
    ++matched;
    SearchHit& h = *checked->hit;
    if (h.position <= spec.after) return true;
    if (page.size() < need) {
      page.push(std::move(h));
    } else if (h.position < page.top().position) {
      page.pop();
      page.push(std::move(h));
    }
    return true;
  });
  if (!status.ok()) return status;
  if (!scanned.ok()) return scanned;

  while (!page.empty()) {
    out.hits.push_back(page.top());
    page.pop();
  }
  std::reverse(out.hits.begin(), out.hits.end());
  out.more = out.hits.size() == need;
  if (out.more) out.hits.pop_back();

  out.total = matched;
  const bool everything = spec.parent.city == kWildcardId &&
                          spec.parent.bureau.empty() &&
                          (spec.filter == nullptr || spec.filter->empty());
  if (everything && grams.size() == 1 && grams.front() == spec.folded_query) {
    out.total = candidates;  // The query is its one gram: all of them match.
  } else if (settled) {
    // Unchecked candidates of each level times the share of that level's
    // candidates holding the query (sampled across the level when few were
    // checked), times the share of those holders in scope and passing the
    // filter (drawn towards the share over all levels).
    int64_t checked = 0, holding = 0;
    for (const auto& [level, t] : tally) {
      checked += t.checked;
      holding += t.holding;
    }
    const double passing =
        holding > 0 ? static_cast<double>(matched) / static_cast<double>(holding) : 0;
    const double pooled =
        checked > 0 ? static_cast<double>(holding) / static_cast<double>(checked) : 0;
    double estimate = static_cast<double>(matched);
    const int per_level = everything ? kSamplePerLevel : kScopedSamplePerLevel;
    int budget = everything ? kSampleBudget : kScopedSampleBudget;
    // The levels with the most unchecked candidates are sampled first: they
    // weigh most in the estimate. Samples add to a level's shares, not to
    // what it has checked.
    std::map<int, Tally> shares = tally;
    std::vector<std::pair<int64_t, int>> by_unchecked;  // (unchecked, level)
    for (const auto& [level, count] : levels) {
      const int64_t unchecked = count - tally[level].checked;
      if (unchecked > 0) by_unchecked.emplace_back(unchecked, level);
    }
    std::sort(by_unchecked.rbegin(), by_unchecked.rend());
    for (const auto& [unchecked, level] : by_unchecked) {
      Tally& t = shares[level];
      if (t.checked >= per_level || budget <= 0) continue;
      absl::StatusOr<std::vector<uint64_t>> sample = reader.SamplePostings(
          driver, level, std::min(per_level, budget));
      if (!sample.ok()) return sample.status();
      for (uint64_t id : *sample) {
        absl::StatusOr<Checked> c = checker.Check(id);
        if (!c.ok()) return c.status();
        ++t.checked;
        if (c->holds) ++t.holding;
        if (c->hit) ++t.matched;
        --budget;
      }
    }
    for (const auto& [unchecked, level] : by_unchecked) {
      const Tally& t = shares[level];
      const double share =
          t.checked > 0 ? static_cast<double>(t.holding) / static_cast<double>(t.checked)
                        : pooled;
      const double level_passing =
          (static_cast<double>(t.matched) + kPooledWeight * passing) /
          (static_cast<double>(t.holding) + kPooledWeight);
      estimate += share * level_passing * static_cast<double>(unchecked);
    }
    out.total = std::max(matched, static_cast<int64_t>(estimate + 0.5));
    out.estimated = true;
  }
  return out;
}

}  // namespace kouryu::query

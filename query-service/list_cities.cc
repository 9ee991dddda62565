#include "query-service/list_cities.h"

#include "query-service/page_token.h"
#include "query-service/request_fields.h"

namespace kouryu::query {
namespace {

constexpr int kDefaultNamesPageSize = 100;

// `kind` ("cities", "bureaus") binds the token to its method.
absl::StatusOr<IdPagePlan> PlanIdPage(int page_size, const std::string& token,
                                      absl::string_view kind) {
  absl::StatusOr<int> size = PageSize(page_size, kDefaultNamesPageSize);
  if (!size.ok()) return size.status();
  const uint64_t fingerprint = RequestFingerprint(kind, "", "");
  absl::StatusOr<std::string> after = DecodePageToken(token, fingerprint);
  if (!after.ok()) return after.status();
  return IdPagePlan{*size, fingerprint, *std::move(after)};
}

// Pages through `items` (sorted by ID) after `plan.after`; `id_of` gives
// an item's ID and `add` puts one in the response.
template <typename Item, typename Response, typename IdOf, typename Add>
void PageById(const std::vector<Item>& items, const IdPagePlan& plan,
              IdOf id_of, Add add, Response& response) {
  int added = 0;
  std::string last;
  for (const Item& item : items) {
    const std::string& id = id_of(item);
    if (id <= plan.after) continue;
    if (added == plan.page_size) {
      response.set_next_page_token(EncodePageToken(plan.fingerprint, last));
      break;
    }
    add(item);
    last = id;
    ++added;
  }
}

}  // namespace

absl::StatusOr<IdPagePlan> PlanCitiesPage(
    const v1::ListCitiesRequest& request) {
  return PlanIdPage(request.page_size(), request.page_token(), "cities");
}

absl::StatusOr<IdPagePlan> PlanBureausPage(
    const v1::ListBureausRequest& request) {
  return PlanIdPage(request.page_size(), request.page_token(), "bureaus");
}

v1::ListCitiesResponse CitiesPage(const std::vector<CityCount>& cities,
                                  const IdPagePlan& plan) {
  v1::ListCitiesResponse response;
  PageById(
      cities, plan,
      [](const CityCount& c) -> const std::string& { return c.city.id(); },
      [&response](const CityCount& c) {
        v1::CityCount* out = response.add_cities();
        *out->mutable_city() = c.city;
        out->set_record_count(static_cast<int32_t>(c.records));
      },
      response);
  return response;
}

v1::ListBureausResponse BureausPage(const std::vector<BureauCount>& bureaus,
                                    const IdPagePlan& plan) {
  v1::ListBureausResponse response;
  PageById(
      bureaus, plan,
      [](const BureauCount& b) -> const std::string& { return b.bureau.id(); },
      [&response](const BureauCount& b) {
        v1::BureauCount* out = response.add_bureaus();
        *out->mutable_bureau() = b.bureau;
        out->set_record_count(static_cast<int32_t>(b.records));
      },
      response);
  return response;
}

}  // namespace kouryu::query

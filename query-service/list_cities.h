#ifndef KOURYU_QUERY_SERVICE_LIST_CITIES_H_
#define KOURYU_QUERY_SERVICE_LIST_CITIES_H_

// ListCities and ListBureaus without gRPC: pages of the cities and bureaus
// the replica counts records of (Replica::Cities, Replica::Bureaus), in ID
// order, each with its record count.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kouryu/v1/query_service.pb.h"
#include "query-service/replica.h"

namespace kouryu::query {

// A checked page_size and page_token. The tokens of cities and of bureaus
// are not interchangeable.
struct IdPagePlan {
  int page_size = 0;
  uint64_t fingerprint = 0;
  std::string after;  // the last ID of the page before; "" for page one
};

// INVALID_ARGUMENT naming the field: INVALID_PAGE_SIZE, or a page token
// made for another method.
absl::StatusOr<IdPagePlan> PlanCitiesPage(const v1::ListCitiesRequest& request);
absl::StatusOr<IdPagePlan> PlanBureausPage(
    const v1::ListBureausRequest& request);

// `cities` and `bureaus` sorted by ID.
v1::ListCitiesResponse CitiesPage(const std::vector<CityCount>& cities,
                                  const IdPagePlan& plan);
v1::ListBureausResponse BureausPage(const std::vector<BureauCount>& bureaus,
                                    const IdPagePlan& plan);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_LIST_CITIES_H_

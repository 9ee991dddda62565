#include "query-service/names.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/gazetteer.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class NamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(dir_.path(), {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
  }

  // Applies one record of `city` (with its names) and `bureau`.
  void AddRecord(const std::string& city, const std::string& city_ja,
                 const std::string& city_en, const std::string& bureau) {
    v1::Change change;
    change.set_sequence(replica_->applied_sequence() + 1);
    change.set_kind(v1::CHANGE_KIND_UPSERT);
    change.set_name(FormatRecordName({city, bureau, "r1"}));
    v1::Record* record = change.mutable_record();
    record->set_name(change.name());
    record->mutable_city()->set_id(city);
    record->mutable_city()->set_name_ja(city_ja);
    record->mutable_city()->set_name_en(city_en);
    record->mutable_bureau()->set_id(bureau);
    ASSERT_TRUE(replica_->Apply({change}).ok());
  }

  ScopedTempDir dir_;
  std::unique_ptr<Replica> replica_;
};

// Every name and alias of the data file names its own entry and no other.
TEST_F(NamesTest, EveryGazetteerNameNamesItsEntryAlone) {
  const Gazetteer& gazetteer = Gazetteer::Builtin();
  Names names(gazetteer, *replica_);
  for (const CityEntry& c : gazetteer.cities()) {
    std::vector<std::string> spellings = {c.id, c.name_ja, c.name_en};
    spellings.insert(spellings.end(), c.aliases.begin(), c.aliases.end());
    for (const std::string& s : spellings) {
      EXPECT_THAT(names.CityIds(s), ElementsAre(c.id)) << s;
    }
  }
  for (const BureauEntry& b : gazetteer.bureaus()) {
    std::vector<std::string> spellings = {b.id, b.name_ja, b.name_en};
    spellings.insert(spellings.end(), b.aliases.begin(), b.aliases.end());
    for (const std::string& s : spellings) {
      EXPECT_THAT(names.BureauIds(s), ElementsAre(b.id)) << s;
    }
  }
  EXPECT_THAT(names.CityIds("unassigned"), ElementsAre("unassigned"));
}

TEST_F(NamesTest, NamesCompareAfterNfkcAndCaseFolding) {
  Names names(Gazetteer::Builtin(), *replica_);
  EXPECT_THAT(names.CityIds("PARIS"), ElementsAre("paris"));
  EXPECT_THAT(names.CityIds("ＮＳＷ州"), ElementsAre("new-south-wales"));
  EXPECT_THAT(names.CityIds("new  south\u3000wales"),
              ElementsAre("new-south-wales"));
  EXPECT_THAT(names.BureauIds("bureau of environment"),
              ElementsAre("environment"));
  EXPECT_THAT(names.CityIds("Atlantis"), IsEmpty());
  EXPECT_THAT(names.CityIds(""), IsEmpty());
  EXPECT_THAT(names.BureauIds("seoul"), IsEmpty());
  EXPECT_THAT(names.CityIds("環境局"), IsEmpty());
}

TEST_F(NamesTest, CitiesAndBureausWithRecordsAreKnown) {
  Names names(Gazetteer::Builtin(), *replica_);
  EXPECT_THAT(names.CityIds("milan"), IsEmpty());
  EXPECT_EQ(names.CheckParent({"milan", ""}).code(),
            absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(AddRecord("milan", "ミラノ市", "Milan", "culture-x"));
  EXPECT_THAT(names.CityIds("milan"), ElementsAre("milan"));
  EXPECT_THAT(names.CityIds("MILAN"), ElementsAre("milan"));
  EXPECT_THAT(names.CityIds("ミラノ市"), ElementsAre("milan"));
  EXPECT_THAT(names.BureauIds("culture-x"), ElementsAre("culture-x"));
  EXPECT_TRUE(names.CheckParent({"milan", ""}).ok());
  EXPECT_TRUE(names.CheckParent({"milan", "culture-x"}).ok());
  EXPECT_TRUE(names.CheckParent({"-", "culture-x"}).ok());
}

TEST_F(NamesTest, CheckParent) {
  Names names(Gazetteer::Builtin(), *replica_);
  // Known to the gazetteer, with no records: fine.
  for (const Parent& parent : std::vector<Parent>{{"-", ""},
                                                  {"paris", ""},
                                                  {"unassigned", ""},
                                                  {"-", "environment"},
                                                  {"seoul", "police"}}) {
    EXPECT_TRUE(names.CheckParent(parent).ok())
        << parent.city << "/" << parent.bureau;
  }
  absl::Status city = names.CheckParent({"atlantis", "environment"});
  EXPECT_EQ(city.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(city), "CITY_NOT_FOUND");
  EXPECT_THAT(city.message(), HasSubstr("\"atlantis\""));
  absl::Status bureau = names.CheckParent({"-", "kankyo"});
  EXPECT_EQ(bureau.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(bureau), "BUREAU_NOT_FOUND");
  EXPECT_THAT(bureau.message(), HasSubstr("\"kankyo\""));
}

}  // namespace
}  // namespace kouryu::query

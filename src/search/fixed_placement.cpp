// A search whose answer needs no search: one placement, scored once, finished at once.
#include "search/searches.hpp"

namespace tessera::search {

namespace {

class FixedPlacement final : public Search {
 public:
  FixedPlacement(Fitness& fitness, search::Genome placement)
      : fitness_(fitness), placement_(std::move(placement)) {}
  void start() override {
    members_ = {placement_};
    evaluation_ = fitness_.evaluate(members_);
    scored_ += 1;
  }
  void advance(std::int64_t, std::int64_t) override {}
  bool finished() const override { return true; }
  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

 private:
  Fitness& fitness_;
  search::Genome placement_;
};

}  // namespace

std::unique_ptr<Search> make_fixed_placement(Fitness& fitness, search::Genome placement) {
  return std::make_unique<FixedPlacement>(fitness, std::move(placement));
}

}  // namespace tessera::search

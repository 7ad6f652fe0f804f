#include "scoring/row_slices.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "core/error.hpp"

namespace tessera::scoring {

RowSlices::RowSlices(const blocks::Grid& grid, const torch::Tensor& tiles, const torch::Tensor& bias)
    : grid_(grid), held_(tiles.size(1)), images_(tiles.size(2)), tile_data_(tiles.data_ptr<float>()),
      bias_data_(bias.data_ptr<float>()) {
  TESSERA_ASSERT(tiles.is_contiguous() && bias.is_contiguous() && tiles.size(0) == grid.cols &&
                 tiles.size(3) == grid.bh && bias.numel() == grid.out);
}

std::int64_t RowSlices::take_slot() {
  if (!free_slots_.empty()) {
    const auto slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  return slots_++;
}

// Tiles are added four at a time: per element the additions are the same, in the same
// order, as one at a time, but four streams from memory are in flight at once. The sum
// is made in `scratch` (E x bh, small enough to stay in cache) and stored once.
void RowSlices::add(const Sum& sum, float* scratch) const {
  const std::int64_t n = images_ * grid_.bh, bh = grid_.bh;
  for (std::int64_t e = 0; e < images_; ++e) std::copy_n(bias_data_ + sum.row * bh, bh, scratch + e * bh);
  const auto& t = sum.tiles;
  std::size_t j = 0;
  for (; j + 4 <= t.size(); j += 4) {
    const float *a = t[j], *b = t[j + 1], *c = t[j + 2], *d = t[j + 3];
    for (std::int64_t x = 0; x < n; ++x) scratch[x] = (((scratch[x] + a[x]) + b[x]) + c[x]) + d[x];
  }
  for (; j < t.size(); ++j)
    for (std::int64_t x = 0; x < n; ++x) scratch[x] += t[j][x];
}

void RowSlices::copy_out(const float* slice, float* out, bool relu) const {
  const std::int64_t bh = grid_.bh, stride = grid_.out;
  for (std::int64_t e = 0; e < images_; ++e) {
    const float* from = slice + e * bh;
    float* to = out + e * stride;
    if (relu)
      for (std::int64_t j = 0; j < bh; ++j) to[j] = std::max(from[j], 0.0f);
    else
      std::copy_n(from, bh, to);
  }
}

torch::Tensor RowSlices::build(const std::vector<blocks::Genome>& population) {
  prepare(population);
  const auto P = static_cast<std::int64_t>(population.size());
  auto pre = torch::empty({P, images_, grid_.out});
  fill(pre.data_ptr<float>(), 0, P, false);
  return pre;
}

void RowSlices::pairs_of(const blocks::Genome& genome, Pairs* rows) const {
  const std::int64_t C = grid_.cols;
  for (std::int64_t k = 0; k < held_; ++k)
    rows[genome[k] / C].emplace_back(genome[k] % C, static_cast<std::int32_t>(k));
  for (std::int64_t r = 0; r < grid_.rows; ++r) std::sort(rows[r].begin(), rows[r].end());
}

std::vector<const float*> RowSlices::tiles_of(const Pairs& pairs) const {
  std::vector<const float*> tiles;
  for (const auto& [column, block] : pairs)
    tiles.push_back(tile_data_ + (static_cast<std::int64_t>(column) * held_ + block) * images_ * grid_.bh);
  return tiles;
}

void RowSlices::slice_of(const blocks::Genome& genome, std::int64_t row, float* out) const {
  // Only this row's pairs: a chain asks for every row in turn.
  const std::int64_t C = grid_.cols;
  Pairs pairs;
  for (std::int64_t k = 0; k < held_; ++k)
    if (genome[k] / C == row) pairs.emplace_back(genome[k] % C, static_cast<std::int32_t>(k));
  std::sort(pairs.begin(), pairs.end());
  add(Sum{-1, row, -1, tiles_of(pairs)}, out);
}

void RowSlices::prepare(const std::vector<blocks::Genome>& population) {
  const std::int64_t P = population.size(), R = grid_.rows, E = images_, bh = grid_.bh;
  // Per candidate and row (u = candidate x R + row): the (column, block) pairs in
  // column order, and as a key the row and the pairs' bytes.
  std::vector<Pairs> pairs(P * R);
  std::vector<std::string> keys(P * R);
  for (std::int64_t i = 0; i < P; ++i) {
    pairs_of(population[i], pairs.data() + i * R);
    for (std::int64_t u = i * R; u < (i + 1) * R; ++u) {
      // The row, then its pairs: rows with the same pairs (or none) differ by their bias.
      const auto row = static_cast<std::int32_t>(u % R);
      keys[u].assign(reinterpret_cast<const char*>(&row), sizeof(row));
      keys[u].append(reinterpret_cast<const char*>(pairs[u].data()), pairs[u].size() * sizeof(pairs[u][0]));
    }
  }
  // Which keys the last call has; the rest of its slots are freed before new ones are taken.
  std::unordered_map<std::string, std::int64_t> slot_of;
  slot_.assign(P * R, -1);
  for (std::int64_t u = 0; u < P * R; ++u) {
    if (auto kept = slot_of_.find(keys[u]); kept != slot_of_.end()) {
      slot_[u] = kept->second;
      slot_of.emplace(keys[u], kept->second);
      ++reused_;
    }
  }
  for (const auto& [key, s] : slot_of_)
    if (!slot_of.count(key)) free_slots_.push_back(s);
  sums_.clear();
  first_user_.assign(P * R, false);
  for (std::int64_t u = 0; u < P * R; ++u) {
    if (slot_[u] >= 0) continue;
    if (auto same = slot_of.find(keys[u]); same != slot_of.end()) {
      slot_[u] = same->second;  // a slice already summed in this call
      ++reused_;
      continue;
    }
    Sum sum{take_slot(), u % R, u, tiles_of(pairs[u])};
    slot_[u] = sum.slot;
    first_user_[u] = true;
    slot_of.emplace(keys[u], sum.slot);
    sums_.push_back(std::move(sum));
  }
  summed_ += static_cast<std::int64_t>(sums_.size());
  slot_of_ = std::move(slot_of);
  store_.resize(static_cast<std::size_t>(slots_ * E * bh));
}

void RowSlices::fill(float* pre, std::int64_t first, std::int64_t count, bool relu) {
  const std::int64_t R = grid_.rows, E = images_, bh = grid_.bh, out = grid_.out;
  // The sums first used by these candidates (sums_ is ordered by first user).
  const auto by_user = [](const Sum& s, std::int64_t u) { return s.user < u; };
  const auto begin = std::lower_bound(sums_.begin(), sums_.end(), first * R, by_user) - sums_.begin();
  const auto end = std::lower_bound(sums_.begin(), sums_.end(), (first + count) * R, by_user) - sums_.begin();
  at::parallel_for(begin, end, 1, [&](std::int64_t from, std::int64_t to) {
    std::vector<float> scratch(E * bh);
    for (std::int64_t s = from; s < to; ++s) {
      const auto& sum = sums_[s];
      add(sum, scratch.data());
      std::copy(scratch.begin(), scratch.end(), store_.begin() + sum.slot * E * bh);
      const auto i = sum.user / R - first;
      copy_out(scratch.data(), pre + i * E * out + sum.row * bh, relu);
    }
  });
  at::parallel_for(0, count, 1, [&](std::int64_t from, std::int64_t to) {
    for (std::int64_t i = from; i < to; ++i)
      for (std::int64_t r = 0; r < R; ++r) {
        const auto u = (first + i) * R + r;
        if (!first_user_[u]) copy_out(store_.data() + slot_[u] * E * bh, pre + i * E * out + r * bh, relu);
      }
  });
}

}  // namespace tessera::scoring

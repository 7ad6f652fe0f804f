#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "streams/division.hpp"

namespace tessera::streams {

namespace spectral {
namespace {

constexpr std::size_t kMaxGroups = 16;      // the embedding's width, and so the most groups found
constexpr int kMaxIterations = 300;         // subspace iterations
constexpr int kRitzEvery = 5;               // iterations between convergence checks
constexpr double kConverged = 1e-9;         // largest change of a Ritz value between checks
constexpr int kMaxLloydRounds = 100;

using Columns = std::vector<std::vector<double>>;  // vectors over the devices

// y (+)= the sum, over each u of outer[v], of x over inner[u]: the devices two hops
// from v, once per path.
void two_hops(const std::vector<std::vector<std::int64_t>>& outer, const std::vector<std::vector<std::int64_t>>& inner,
              const std::vector<double>& x, std::vector<double>& y, std::vector<double>& through, bool add) {
  for (std::size_t u = 0; u < x.size(); ++u) {
    double s = 0;
    for (auto w : inner[u]) s += x[w];
    through[u] = s;
  }
  for (std::size_t v = 0; v < x.size(); ++v) {
    double s = 0;
    for (auto u : outer[v]) s += through[u];
    y[v] = add ? y[v] + s : s;
  }
}

// y = S x for the co-neighbour similarity S = A A^T + A^T A (A: sender -> receiver,
// distinct arcs): (S x)(v) adds x(w) once for every sender v and w share, and once
// for every receiver they share. O(arcs); S itself, dense within a layer, is never
// formed.
void similarity_times(const Neighbours& nb, const std::vector<double>& x, std::vector<double>& y,
                      std::vector<double>& through) {
  two_hops(nb.senders, nb.receivers, x, y, through, false);  // shared senders
  two_hops(nb.receivers, nb.senders, x, y, through, true);   // shared receivers
}

// The normalised similarity M = D^-1/2 S D^-1/2 (D: S's row sums; `scale` holds
// D^-1/2, 0 for a device with no neighbour). Its eigenvalues lie in [0, 1]; a group
// of devices that share their neighbours gives one eigenvalue near 1.
struct Normalised {
  const Neighbours& nb;
  std::vector<double> scale;
  mutable std::vector<double> scaled, through;

  void times(const std::vector<double>& x, std::vector<double>& y) const {
    for (std::size_t v = 0; v < x.size(); ++v) scaled[v] = scale[v] * x[v];
    similarity_times(nb, scaled, y, through);
    for (std::size_t v = 0; v < x.size(); ++v) y[v] *= scale[v];
  }
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Modified Gram-Schmidt, twice (enough for double precision); a column that
// collapses is redrawn at random over the active devices and orthonormalised again.
void orthonormalise(Columns& x, const std::vector<double>& scale, Rng& rng) {
  for (std::size_t j = 0; j < x.size(); ++j) {
    for (int attempt = 0;; ++attempt) {
      for (int pass = 0; pass < 2; ++pass)
        for (std::size_t i = 0; i < j; ++i) {
          const double p = dot(x[i], x[j]);
          for (std::size_t v = 0; v < x[j].size(); ++v) x[j][v] -= p * x[i][v];
        }
      const double norm = std::sqrt(dot(x[j], x[j]));
      if (norm > 1e-10) {
        for (auto& e : x[j]) e /= norm;
        break;
      }
      TESSERA_ASSERT(attempt < 10, "spectral division: cannot complete an orthonormal basis");
      for (std::size_t v = 0; v < x[j].size(); ++v) x[j][v] = scale[v] > 0 ? uniform_unit(rng) - 0.5 : 0.0;
    }
  }
}

// Eigenvalues (descending) and eigenvectors (columns of `vectors`, k x k) of a small
// symmetric matrix, by cyclic Jacobi rotations.
void symmetric_eigen(std::vector<std::vector<double>> a, std::vector<double>& values,
                     std::vector<std::vector<double>>& vectors) {
  const std::size_t k = a.size();
  std::vector<std::vector<double>> v(k, std::vector<double>(k, 0.0));
  for (std::size_t i = 0; i < k; ++i) v[i][i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t j = 0; j < k; ++j) (i == j ? total : off) += a[i][j] * a[i][j];
    if (off <= 1e-30 * std::max(total, 1e-300)) break;
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t q = p + 1; q < k; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t r = 0; r < k; ++r) {  // A <- A J (columns p, q)
          const double ap = a[r][p], aq = a[r][q];
          a[r][p] = c * ap - s * aq;
          a[r][q] = s * ap + c * aq;
        }
        for (std::size_t r = 0; r < k; ++r) {  // A <- J^T A (rows p, q)
          const double ap = a[p][r], aq = a[q][r];
          a[p][r] = c * ap - s * aq;
          a[q][r] = s * ap + c * aq;
        }
        for (std::size_t r = 0; r < k; ++r) {
          const double vp = v[r][p], vq = v[r][q];
          v[r][p] = c * vp - s * vq;
          v[r][q] = s * vp + c * vq;
        }
      }
  }
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return a[i][i] > a[j][j]; });
  values.resize(k);
  vectors.assign(k, std::vector<double>(k));
  for (std::size_t c = 0; c < k; ++c) {
    values[c] = a[order[c]][order[c]];
    for (std::size_t r = 0; r < k; ++r) vectors[r][c] = v[r][order[c]];
  }
}

// Rayleigh-Ritz on the span of x: x becomes the Ritz vectors, largest value first.
std::vector<double> ritz(const Normalised& m, Columns& x) {
  const std::size_t k = x.size();
  Columns mx(k, std::vector<double>(x[0].size()));
  for (std::size_t j = 0; j < k; ++j) m.times(x[j], mx[j]);
  std::vector<std::vector<double>> h(k, std::vector<double>(k));
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i; j < k; ++j) h[i][j] = h[j][i] = 0.5 * (dot(x[i], mx[j]) + dot(x[j], mx[i]));
  std::vector<double> values;
  std::vector<std::vector<double>> vectors;
  symmetric_eigen(h, values, vectors);
  Columns rotated(k, std::vector<double>(x[0].size(), 0.0));
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t i = 0; i < k; ++i) {
      const double w = vectors[i][c];
      for (std::size_t v = 0; v < x[0].size(); ++v) rotated[c][v] += w * x[i][v];
    }
  x = std::move(rotated);
  return values;
}

// The number of groups: the eigenvalues above the widest gap between two of them.
std::size_t groups_from_gaps(const std::vector<double>& values) {
  std::size_t k = 1;
  double widest = -1;
  for (std::size_t i = 1; i < values.size(); ++i) {
    const double gap = values[i - 1] - values[i];
    if (gap > widest) widest = gap, k = i;
  }
  return k;
}

// Lloyd's k-means on the rows of `points` (n x k, unit rows), started from the
// farthest-first centres (the first point, then each time the point farthest from
// every centre so far, ties to the lower index): no random draw.
std::vector<std::int64_t> k_means(const std::vector<std::vector<double>>& points, std::size_t k) {
  const std::size_t n = points.size(), dim = k;
  auto distance = [&](const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t d = 0; d < dim; ++d) s += (a[d] - b[d]) * (a[d] - b[d]);
    return s;
  };
  std::vector<std::vector<double>> centres{points[0]};
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  while (centres.size() < k) {
    std::size_t far = 0;
    for (std::size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], distance(points[i], centres.back()));
      if (nearest[i] > nearest[far]) far = i;
    }
    if (nearest[far] <= 1e-12) break;  // fewer distinct points than groups
    centres.push_back(points[far]);
  }
  std::vector<std::int64_t> label(n, -1);
  for (int round = 0; round < kMaxLloydRounds; ++round) {
    bool changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t best = 0;
      double best_d = distance(points[i], centres[0]);
      for (std::size_t c = 1; c < centres.size(); ++c) {
        const double d = distance(points[i], centres[c]);
        if (d < best_d) best_d = d, best = static_cast<std::int64_t>(c);
      }
      changed |= label[i] != best;
      label[i] = best;
    }
    if (!changed) break;
    std::vector<std::vector<double>> sum(centres.size(), std::vector<double>(dim, 0.0));
    std::vector<std::int64_t> count(centres.size(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      ++count[label[i]];
      for (std::size_t d = 0; d < dim; ++d) sum[label[i]][d] += points[i][d];
    }
    for (std::size_t c = 0; c < centres.size(); ++c)
      if (count[c] > 0)
        for (std::size_t d = 0; d < dim; ++d) centres[c][d] = sum[c][d] / static_cast<double>(count[c]);
  }
  return label;
}

// The connected components of S: devices linked by a chain of shared senders or
// shared receivers (union-find). Labels in order of each component's first device.
std::vector<std::int64_t> components(const Neighbours& nb, std::size_t n) {
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  auto root = [&](std::size_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  auto join = [&](const std::vector<std::int64_t>& list) {
    for (std::size_t i = 1; i < list.size(); ++i) {
      const auto a = root(static_cast<std::size_t>(list[0])), b = root(static_cast<std::size_t>(list[i]));
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  };
  for (std::size_t u = 0; u < n; ++u) {
    join(nb.receivers[u]);  // they share the sender u
    join(nb.senders[u]);    // they share the receiver u
  }
  std::vector<std::int64_t> label(n);
  for (std::size_t v = 0; v < n; ++v) label[v] = static_cast<std::int64_t>(root(v));
  return label;
}

}  // namespace
}  // namespace spectral

namespace spectral {
namespace {

// The division that the embedding `x` (Ritz vectors, `values` theirs) gives when
// asked for `groups` groups (0: as many as the widest gap between values says).
Division divide_embedded(const Neighbours& nb, const std::vector<std::size_t>& active, const Columns& x,
                         const std::vector<double>& values, std::int64_t groups) {
  const std::size_t n = nb.senders.size();
  std::vector<std::int64_t> label(n, -1);  // -1: no neighbour at all
  const std::size_t k =
      groups > 0 ? std::min(x.size(), static_cast<std::size_t>(groups)) : x.empty() ? 1 : groups_from_gaps(values);
  if (!x.empty() && values.back() > 1 - 1e-6) {
    // Every eigenvalue of the embedding is 1: more groups of devices that share
    // nothing with the rest than the embedding is wide. Those groups are the
    // components of S, exactly.
    const auto component = components(nb, n);
    for (auto v : active) label[v] = component[v];
  } else if (k >= 2) {
    // Each device's row of the first k eigenvectors, scaled to unit length (Ng,
    // Jordan and Weiss): devices of one group point the same way.
    std::vector<std::vector<double>> points(active.size(), std::vector<double>(k));
    for (std::size_t i = 0; i < active.size(); ++i) {
      double norm = 0;
      for (std::size_t c = 0; c < k; ++c) norm += x[c][active[i]] * x[c][active[i]];
      norm = std::sqrt(norm);
      for (std::size_t c = 0; c < k; ++c) points[i][c] = norm > 0 ? x[c][active[i]] / norm : 0.0;
    }
    const auto found = k_means(points, k);
    for (std::size_t i = 0; i < active.size(); ++i) label[active[i]] = found[i];
  } else {
    for (auto v : active) label[v] = 0;
  }

  // Groups numbered in order of their first device's id (the devices with no
  // neighbour are one group of their own); a group of one is a pivot.
  Division division;
  division.group.assign(n, 0);
  std::vector<std::int64_t> number;  // by label + 1
  std::vector<std::int64_t> size;
  for (std::size_t v = 0; v < n; ++v) {
    const auto key = static_cast<std::size_t>(label[v] + 1);
    if (number.size() <= key) number.resize(key + 1, -1);
    if (number[key] < 0) {
      number[key] = division.groups++;
      size.push_back(0);
    }
    division.group[v] = number[key];
    ++size[number[key]];
  }
  for (std::size_t v = 0; v < n; ++v)
    if (size[division.group[v]] == 1) division.pivots.push_back(static_cast<std::int64_t>(v));
  return division;
}

}  // namespace
}  // namespace spectral

std::vector<Division> divide_spectrally(const DeviceGraph& graph, std::uint64_t seed,
                                        const std::vector<std::int64_t>& groups) {
  using namespace spectral;
  if (groups.empty()) return {};  // nothing asked: no embedding to compute
  const auto n = static_cast<std::size_t>(graph.vertices);
  const auto nb = distinct_neighbours(graph);
  Normalised m{nb, std::vector<double>(n, 0.0), std::vector<double>(n), std::vector<double>(n)};
  {
    std::vector<double> ones(n, 1.0), degree(n);
    similarity_times(nb, ones, degree, m.through);
    for (std::size_t v = 0; v < n; ++v) m.scale[v] = degree[v] > 0 ? 1 / std::sqrt(degree[v]) : 0.0;
  }
  std::vector<std::size_t> active;
  for (std::size_t v = 0; v < n; ++v)
    if (m.scale[v] > 0) active.push_back(v);

  // One subspace iteration serves every count asked for: each takes the Ritz vectors
  // of the check at which the values it uses stood still, which is what an iteration
  // of its own (the same start, the same steps) would have stopped at.
  std::vector<Columns> embedding(groups.size());
  std::vector<std::vector<double>> embedded_values(groups.size());
  if (active.size() >= 2) {
    const std::size_t width = std::min(kMaxGroups, active.size());
    auto rng = make_rng(seed, "spectral-start");
    Columns x(width, std::vector<double>(n, 0.0));
    for (auto& column : x)
      for (auto v : active) column[v] = uniform_unit(rng) - 0.5;
    orthonormalise(x, m.scale, rng);
    std::vector<double> values = ritz(m, x), previous;
    Columns y(width, std::vector<double>(n));
    std::vector<bool> settled(groups.size(), false);
    auto keep = [&](std::size_t r) {
      embedding[r] = x;
      embedded_values[r] = values;
      settled[r] = true;
    };
    bool ritz_vectors = true;  // x holds Ritz vectors (values are theirs)
    for (int it = 1; it <= kMaxIterations; ++it) {
      for (std::size_t j = 0; j < width; ++j) m.times(x[j], y[j]);
      std::swap(x, y);
      orthonormalise(x, m.scale, rng);
      ritz_vectors = false;
      if (it % kRitzEvery) continue;
      previous = values;
      values = ritz(m, x);
      ritz_vectors = true;
      // Converged when the values down to the one below the widest gap stand still
      // (those beyond it converge slowly and are not used); told the number of
      // groups, when the values of the eigenvectors used do.
      for (std::size_t r = 0; r < groups.size(); ++r) {
        if (settled[r]) continue;
        const std::size_t told = std::min(width, static_cast<std::size_t>(std::max<std::int64_t>(groups[r], 1)));
        const std::size_t used = std::min(width, groups[r] > 0 ? told : groups_from_gaps(values) + 1);
        double change = 0;
        for (std::size_t j = 0; j < used; ++j) change = std::max(change, std::abs(values[j] - previous[j]));
        if (change < kConverged) keep(r);
      }
      if (std::all_of(settled.begin(), settled.end(), [](bool s) { return s; })) break;
    }
    if (!ritz_vectors) values = ritz(m, x);
    for (std::size_t r = 0; r < groups.size(); ++r)
      if (!settled[r]) keep(r);
  }
  std::vector<Division> divisions;
  for (std::size_t r = 0; r < groups.size(); ++r)
    divisions.push_back(divide_embedded(nb, active, embedding[r], embedded_values[r], groups[r]));
  return divisions;
}

Division divide_spectrally(const DeviceGraph& graph, std::uint64_t seed, std::int64_t groups) {
  return divide_spectrally(graph, seed, std::vector<std::int64_t>{groups}).front();
}

}  // namespace tessera::streams

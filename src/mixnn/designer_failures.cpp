// The designer when the cascade fails (MixNN sections 4.1 and 4.2; docs/DESIGN.md
// section 11.2): the servers that stopped answering are found by probes, the
// cascade is rebuilt on other servers from the last good state.
#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "mixnn/designer_state.hpp"

namespace tessera::mixnn {

std::set<int> Designer::State::responsive() {
  const double sent = net.now();
  for (int r : cascade.ranks) post({r}, Op::loop, Message{Kind::noise, kProbeStep, cascade.generation, {}, r, 0});
  std::set<int> alive;
  double deadline = sent + timeout;
  // In turns of 1 ms each, so that a silent server first in the cascade does not
  // hold up the answers of the others.
  while (alive.size() < cascade.ranks.size() && net.now() < deadline)
    for (int r : cascade.ranks)
      if (!alive.count(r) && await(Kind::noise, kProbeStep, std::min(deadline, net.now() + 1e-3), r)) {
        if (alive.empty()) {
          const double delay = net.now() - sent;
          deadline = std::min(deadline, net.now() + std::max(o.min_timeout, o.timeout_factor * delay));
        }
        alive.insert(r);
      }
  return alive;
}

void Designer::State::rebuild(FailureKind kind, int epoch, std::int64_t step) {
  for (;;) {
    record_failure(kind, epoch, step);
    const auto previous = cascade.ranks;
    ++cascade.generation;
    early.clear();
    onions.clear();
    for (std::size_t p = 0; p < parts.size(); ++p) parts[p]->set_state(good[p]);
    choose_cascade(previous);
    try {
      init_cascade();
      result.failures.back().handled_at = net.now();
      return;
    } catch (const Timeout& t) {
      kind = FailureKind::crash;
      step = t.step;
    }
  }
}

void Designer::State::record_failure(FailureKind kind, int epoch, std::int64_t step) {
  FailureRecord f{kind, epoch, step, net.now(), timeout, cascade.generation, {}};
  if (kind == FailureKind::crash) {
    const auto alive = responsive();
    for (int r : cascade.ranks)
      if (!alive.count(r)) f.removed.push_back(r);
    crashed.insert(f.removed.begin(), f.removed.end());
    // A timeout with every server answering: the designer cannot tell which one
    // failed (section 4.1), so all of them become suspects.
    if (f.removed.empty()) suspects.insert(cascade.ranks.begin(), cascade.ranks.end());
  } else {
    f.removed = cascade.ranks;
    suspects.insert(cascade.ranks.begin(), cascade.ranks.end());
  }
  log::info("MixNN: ", kind == FailureKind::crash ? "crash" : "Byzantine server", " detected in epoch ", epoch + 1,
            kind == FailureKind::byzantine ? std::string(" by the test-phase check")
            : step >= 0                   ? " at training step " + std::to_string(step)
                                          : std::string(" outside training (initialisation, report or test)"),
            " (cascade ",
            cascade.generation, "); ", f.removed.size(), " server(s) taken out; rebuilding from the last good state");
  result.failures.push_back(f);
  if (++rebuilds > o.max_rebuilds)
    throw Error("MixNN: " + std::to_string(rebuilds) + " failed cascades, more than --mixnn.max_rebuilds=" +
                std::to_string(o.max_rebuilds));
}
}  // namespace tessera::mixnn

// The designer's onions, built ahead (docs/DESIGN.md section 11.2). An onion costs a
// sealed box per hop (an X25519 key pair and exchange each, about 90 us), and every
// packet needs a fresh one. A thread of the designer builds them for the routes the
// current phase sends on, at the lowest priority the kernel has (SCHED_IDLE): only
// on a core nobody else wants, so it never holds up a server of the cascade, which
// on an oversubscribed node would otherwise wait for a core behind it. A route whose
// stock ran dry gets its onion built on the spot.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "mixnn/packet.hpp"

namespace tessera::mixnn {

class OnionStock {
 public:
  // A route as the designer names it: the servers' ranks in order, the op, and
  // whether the designer is the last hop.
  using RouteKey = std::tuple<std::vector<int>, Op, bool>;
  struct Route {
    RouteKey key;
    std::vector<Hop> hops;  // the key's ranks (and the designer) with their public keys
  };

  explicit OnionStock(std::size_t depth = 2);
  ~OnionStock();
  OnionStock(const OnionStock&) = delete;
  OnionStock& operator=(const OnionStock&) = delete;

  // The routes to keep onions for; the onions of other routes are dropped.
  void want(const std::vector<Route>& routes);
  // Forgets every route and onion (a new cascade).
  void clear() { want({}); }
  // An onion through `route`: one built ahead, else one built now.
  Onion take(const Route& route);
  // Seconds the thread spent building the onions it built.
  double background_seconds() const;

 private:
  struct Stocked {
    std::vector<Hop> hops;
    Op op = Op::forward;
    std::deque<Onion> onions;
  };
  void build_ahead();
  Stocked* next_to_build();

  std::size_t depth_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<RouteKey, Stocked> stock_;
  std::uint64_t version_ = 0;  // moves with every want(): onions built for an older one are dropped
  bool stopping_ = false;
  double background_seconds_ = 0;
  std::thread thread_;
};

}  // namespace tessera::mixnn

#include "mixnn/onion_stock.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>

namespace tessera::mixnn {

namespace {

// The lowest priority there is: SCHED_IDLE (any thread may lower itself to it),
// else the highest niceness.
void run_only_on_idle_cores() {
  sched_param none{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) != 0)
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

OnionStock::OnionStock(std::size_t depth) : depth_(depth), thread_([this] { build_ahead(); }) {}

OnionStock::~OnionStock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void OnionStock::want(const std::vector<Route>& routes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<RouteKey, Stocked> kept;
    for (const auto& r : routes) {
      auto found = stock_.find(r.key);
      kept[r.key] = found != stock_.end() ? std::move(found->second) : Stocked{r.hops, std::get<1>(r.key), {}};
    }
    stock_ = std::move(kept);
    ++version_;
  }
  wake_.notify_all();
}

Onion OnionStock::take(const Route& route) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = stock_.find(route.key);
    if (found != stock_.end() && !found->second.onions.empty()) {
      auto onion = std::move(found->second.onions.front());
      found->second.onions.pop_front();
      wake_.notify_all();
      return onion;
    }
  }
  return build_onion(route.hops, std::get<1>(route.key));
}

double OnionStock::background_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return background_seconds_;
}

OnionStock::Stocked* OnionStock::next_to_build() {
  for (auto& [key, s] : stock_)
    if (s.onions.size() < depth_) return &s;
  return nullptr;
}

void OnionStock::build_ahead() {
  run_only_on_idle_cores();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || next_to_build() != nullptr; });
    if (stopping_) return;
    Stocked* target = next_to_build();
    const auto hops = target->hops;
    const auto op = target->op;
    const auto version = version_;
    lock.unlock();
    const double t0 = seconds_now();
    Onion onion;
    bool built = true;
    try {
      onion = build_onion(hops, op);
    } catch (const std::exception&) {
      built = false;  // a route take() will refuse with the reason
    }
    const double spent = seconds_now() - t0;
    lock.lock();
    background_seconds_ += spent;
    if (!built) {
      stock_.clear();  // nothing to build for until the next want()
      continue;
    }
    // The route may have been dropped (or the stock rebuilt) while this was built.
    if (version == version_) target->onions.push_back(std::move(onion));
  }
}

}  // namespace tessera::mixnn

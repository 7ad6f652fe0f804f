#include "trace/packet_log.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <utility>

namespace tessera::trace {

TraceEvents events_of_packets(const std::vector<PacketSend>& sends, const std::vector<PacketArrival>& arrivals) {
  using Link = std::pair<std::int64_t, std::int64_t>;
  std::map<Link, std::vector<double>> arrived;  // (src, dst) -> times, in the receiver's order
  for (const auto& a : arrivals) arrived[{a.src, a.dst}].push_back(a.t);
  TraceEvents e;
  std::map<Link, std::size_t> next;
  for (const auto& s : sends) {
    const auto& times = arrived[{s.src, s.dst}];
    const auto index = next[{s.src, s.dst}]++;
    e.step.push_back(s.step);
    e.phase.push_back(s.phase);
    e.seq.push_back(0);
    e.src.push_back(s.src);
    e.dst.push_back(s.dst);
    e.bytes.push_back(s.bytes);
    e.t_start.push_back(s.t_start);
    e.t_end.push_back(index < times.size() ? std::max(times[index], s.t_start) : NAN);
  }
  std::vector<std::size_t> by_time(e.size());
  std::iota(by_time.begin(), by_time.end(), 0);
  std::stable_sort(by_time.begin(), by_time.end(), [&](auto a, auto b) { return e.t_start[a] < e.t_start[b]; });
  std::int64_t current = 0;
  for (auto i : by_time) {
    if (e.step[i] >= 0)
      current = e.step[i];
    else
      e.step[i] = current;
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> next_seq;
  for (auto i : by_time) e.seq[i] = next_seq[{e.step[i], e.phase[i]}]++;
  return e;
}

}  // namespace tessera::trace

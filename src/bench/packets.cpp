// tessera bench packets: MixNN's packet processing per hop (docs/DESIGN.md 11.1):
// a server opens a packet (its slot, the payload's AEAD, the header's keystream) and
// seals the next one, for a route of --bench.hops servers and each message size,
// with the slots under the servers' slot keys (a cascade's packets once its servers
// are initialised) and as sealed boxes (initialisation, loops, probes); and the
// designer's cost of building one onion of each kind. Prints medians in
// microseconds against Sphinx's published 157 microseconds per hop (Nym's
// implementation on a 2018 laptop, small payloads), which tessera's packets are meant
// to be compared with.
#include <cstdio>
#include <string>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "mixnn/packet.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace packets_case {
namespace {

constexpr double kSphinxMicroseconds = 157;

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  options.add_options()
    ("bench.hops", po::value<int>()->default_value(5), "servers on the route (1 to 16)")
    ("bench.message_bytes", po::value<std::string>()->default_value("1024,50240,200768"),
     "payload sizes, comma-separated: 50240 is the message size of `tessera mixnn`'s default cascade (a batch of "
     "64 images as stored, one byte a pixel, and the message header), 200768 the same batch as float32")
    ("bench.packets", po::value<int>()->default_value(200), "packets sent through the route per size");
}

int run(const Config& config, MPI_Comm world) {
  const int hops = config.get<int>("bench.hops"), packets = config.get<int>("bench.packets");
  const auto sizes = agree(world, [&] {
    TESSERA_REQUIRE(hops >= 1 && hops <= mixnn::kMaxHops, "--bench.hops: 1 to ", mixnn::kMaxHops, ", got ", hops);
    TESSERA_REQUIRE(packets >= 1, "--bench.packets: must be >= 1, got ", packets);
    std::vector<std::size_t> parsed;
    for (const auto& item : split_list(config.get<std::string>("bench.message_bytes"), "--bench.message_bytes")) {
      long long value = -1;
      try {
        value = std::stoll(item);
      } catch (const std::exception&) {
      }
      TESSERA_REQUIRE(value >= 1 && value <= (1 << 26), "--bench.message_bytes: '", item,
                      "' is not a size in bytes from 1 to 2^26");
      parsed.push_back(static_cast<std::size_t>(value));
    }
    TESSERA_REQUIRE(!parsed.empty(), "--bench.message_bytes: no size given");
    return parsed;
  });
  auto report = report_for(config, world, MPI_COMM_SELF);
  if (rank_of(world) != 0) return 0;  // one process measures, and writes

  std::vector<mixnn::KeyPair> keys;
  std::vector<mixnn::Hop> sealed_route, keyed_route;
  for (int i = 0; i < hops; ++i) {
    keys.push_back(mixnn::KeyPair::generate());
    sealed_route.push_back({i + 1, keys.back().public_key});
    keyed_route.push_back({i + 1, keys.back().public_key, true, mixnn::random_key()});
  }
  // Median microseconds of a hop (open and reseal) and of building the onion.
  auto measure = [&](const std::vector<mixnn::Hop>& route, std::size_t size) {
    std::vector<mixnn::Server> servers;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      servers.emplace_back(keys[i], size);
      if (route[i].has_slot_key) servers.back().add_slot_key(route[i].slot_key);
    }
    const mixnn::Bytes message(size, 7);
    std::vector<double> per_hop, build;
    for (int p = 0; p < packets; ++p) {
      mixnn::Onion onion;
      build.push_back(seconds_of([&] { onion = mixnn::build_onion(route, mixnn::Op::forward); }) * 1e6);
      auto packet = mixnn::seal_packet(onion.header, onion.first_in_key, message, size);
      for (auto& server : servers) {
        per_hop.push_back(seconds_of([&] {
                            auto opened = server.open(packet);
                            packet = mixnn::seal_packet(opened.next_header, opened.out_key, opened.message, size);
                          }) * 1e6);
      }
    }
    return std::make_pair(median(per_hop), median(build));
  };
  auto& table = report.table("hops", {{"message_bytes", "message bytes", 0},
                                      {"packet_bytes", "packet", 0},
                                      {"keyed_hop_us", "hop, key us", 1},
                                      {"sealed_hop_us", "hop, box us", 1},
                                      {"megabytes_per_second", "MB/s", 1},
                                      {"over_sphinx", "/ Sphinx 157us", 2},
                                      {"keyed_onion_us", "onion, keys", 1},
                                      {"sealed_onion_us", "onion, boxes", 1}});
  for (const auto size : sizes) {
    const auto [keyed_hop, keyed_build] = measure(keyed_route, size);
    const auto [sealed_hop, sealed_build] = measure(sealed_route, size);
    const auto packet = static_cast<std::int64_t>(mixnn::packet_bytes(size));
    table.add({static_cast<std::int64_t>(size), packet, keyed_hop, sealed_hop, packet / keyed_hop,
               keyed_hop / kSphinxMicroseconds, keyed_build, sealed_build});
  }
  report.note("hop, key: slots under the servers' slot keys, a cascade's packets once its servers are initialised; "
              "hop, box: sealed-box slots, for initialisation, loops and probes; MB/s and the Sphinx ratio for the "
              "first; medians over " + std::to_string(packets) + " packets");
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace packets_case

const cli::Command packets_command{"bench packets",
                                    "MixNN packets: a hop's open and reseal per message size, against Sphinx's 157 us",
                                    packets_case::add_options, packets_case::run};

}  // namespace tessera::bench

// Timing helpers shared by the benchmarks.
#pragma once

#include <torch/torch.h>

#include "bench/report.hpp"
#include "comm/device.hpp"

namespace tessera::cli {

using bench::median;
using bench::seconds_of;
using bench::seconds_since;

using comm::sgemm_rate;  // the benchmarks' floors are flop counts at this rate

}  // namespace tessera::cli

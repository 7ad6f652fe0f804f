// Rank-0 logging to stderr, and progress lines with percent done and ETA for long
// loops (batch logs are read in Slurm output files, so lines, not carriage returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include "core/error.hpp"

namespace tessera::log {

// Only the process whose world rank is 0 prints; set once at start-up.
void set_world_rank(int rank);
bool printing();

template <class... Parts>
void info(const Parts&... parts) {
  if (printing()) std::cerr << "tessera: " << detail::concat(parts...) << "\n";
}

std::string seconds_text(double seconds);

// Progress over a known amount of work, printed at most every `interval` seconds
// and once at completion.
class Progress {
 public:
  Progress(std::string what, std::int64_t total, double interval_seconds = 10.0);
  void advance(std::int64_t amount = 1, const std::string& note = "");
  void finish(const std::string& note = "");
  double elapsed() const;
  // The work stops at the latest `seconds` after the start (a time budget): the ETA
  // is never later than that.
  void set_deadline(double seconds) { deadline_ = seconds; }

 private:
  void print(const std::string& note) const;
  std::string what_;
  std::int64_t total_, done_ = 0;
  double interval_, deadline_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace tessera::log

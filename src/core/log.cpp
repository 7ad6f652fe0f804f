#include "core/log.hpp"

#include <algorithm>
#include <cstdio>

namespace tessera::log {

namespace {
int world_rank = 0;
}

void set_world_rank(int rank) { world_rank = rank; }
bool printing() { return world_rank == 0; }

std::string seconds_text(double seconds) {
  char text[32];
  if (seconds < 100) {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  } else {
    long s = static_cast<long>(seconds + 0.5);
    if (s < 3600)
      std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
    else
      std::snprintf(text, sizeof text, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
  }
  return text;
}

Progress::Progress(std::string what, std::int64_t total, double interval_seconds)
    : what_(std::move(what)),
      total_(total),
      interval_(interval_seconds),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::int64_t amount, const std::string& note) {
  done_ += amount;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() >= interval_ && done_ < total_) {
    last_print_ = now;
    print(note);
  }
}

void Progress::finish(const std::string& note) {
  done_ = total_;
  print(note);
}

void Progress::print(const std::string& note) const {
  double spent = elapsed();
  double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  std::string eta;
  if (done_ < total_) {
    const double remaining = fraction > 0 ? spent * (1 - fraction) / fraction : -1;
    const double to_deadline = deadline_ > 0 ? std::max(0.0, deadline_ - spent) : -1;
    if (to_deadline >= 0 && (remaining < 0 || to_deadline < remaining))
      eta = ", ETA " + seconds_text(to_deadline) + " (time budget)";
    else if (remaining >= 0)
      eta = ", ETA " + seconds_text(remaining);
  }
  char percent[16];
  std::snprintf(percent, sizeof percent, "%5.1f%%", 100.0 * fraction);
  info(what_, " ", percent, " (", done_, "/", total_, ") ", seconds_text(spent), eta,
       note.empty() ? "" : "  " + note);
}

}  // namespace tessera::log

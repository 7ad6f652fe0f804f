#include "core/memory.hpp"

#include <unistd.h>

#include <cstdio>

#include "core/error.hpp"

namespace tessera {

double physical_memory() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.3g %s", bytes, units[unit]);
  return text;
}

void require_memory(double bytes, const std::string& what) {
  const double memory = physical_memory();
  TESSERA_REQUIRE(bytes <= memory, what, " would need ", bytes_text(bytes), ", more than this node's ",
                  bytes_text(memory), " of memory");
}

}  // namespace tessera

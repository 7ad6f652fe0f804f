// Error types and the checks that raise them.
//
// Two kinds, after LAMMPS: an Error is "reached by every rank" (bad option, bad
// input file that every rank reads) and ends the job cleanly with one line from
// rank 0; anything else escaping a command is a fault on one rank and aborts the
// whole job, printed with its rank and host. `agree()` turns a failure on some
// ranks into an Error on all of them at a point every rank passes.
#pragma once

#include <mpi.h>

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace tessera {

// A user-facing error (bad option, bad input file). Raised on one rank it is
// still a fault of that rank: only an AgreedError is known to be on every rank.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An Error that every rank of the communicator raised together (through
// `agree`): rank 0 prints it once and every rank exits non-zero cleanly.
class AgreedError : public Error {
 public:
  using Error::Error;
};

// "host:file:line" for messages about faults in tessera itself.
std::string where(const char* file, int line);

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Runs `body` on every rank of `comm`. If it throws on any rank, every rank throws
// an AgreedError carrying the message of the lowest failing rank, so all of them end
// together instead of some waiting forever in the next collective call.
template <class Body>
auto agree(MPI_Comm comm, Body&& body) -> decltype(body());

// Collective: raises on every rank the AgreedError of the lowest rank whose `message` is
// non-empty; returns normally when all are empty.
void agree_on_message(MPI_Comm comm, const std::string& message);

template <class Body>
auto agree(MPI_Comm comm, Body&& body) -> decltype(body()) {
  using Result = decltype(body());
  std::string message;
  auto note = [&message](const char* what) { message = *what ? what : "unknown error"; };
  if constexpr (std::is_void_v<Result>) {
    try {
      body();
    } catch (const std::exception& e) {
      note(e.what());
    }
    agree_on_message(comm, message);
  } else {
    std::optional<Result> result;
    try {
      result.emplace(body());
    } catch (const std::exception& e) {
      note(e.what());
    }
    agree_on_message(comm, message);
    return std::move(*result);
  }
}

}  // namespace tessera

// Raise an Error with a message built from the parts when `cond` is false.
#define TESSERA_REQUIRE(cond, ...)                                  \
  do {                                                              \
    if (!(cond)) throw ::tessera::Error(::tessera::detail::concat(__VA_ARGS__)); \
  } while (0)

// An internal invariant; a failure is a bug, reported with host:file:line.
#define TESSERA_ASSERT(cond, ...)                                                  \
  do {                                                                             \
    if (!(cond))                                                                   \
      throw std::logic_error(::tessera::detail::concat(                            \
          ::tessera::where(__FILE__, __LINE__), ": ", #cond, ": ", ##__VA_ARGS__)); \
  } while (0)

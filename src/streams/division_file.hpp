// /streams/<run> of `tessera streams analyze`: one eavesdropper's division of a
// trace's devices, what it saw of the streams, and its score against the trace's
// truth when the trace has one (the group's datasets and attributes:
// docs/output.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "streams/eavesdroppers.hpp"

namespace tessera::streams {

// The learned eavesdropper's training, recorded with its division.
struct LearnedRecord {
  std::vector<std::string> train;  // its training files
  double training_accuracy = 0;
  std::int64_t epochs = 0;
};

struct DivisionRecord {
  std::string method;
  View view;
  std::int64_t th, phase, step;
  const trace::TraceFile& file;
  const ObservedStreams& seen;
  const MethodDivision& result;
  std::optional<LearnedRecord> learned;
};

// Collective: writes the division into `group` (the run's group); returns its score
// in words ("no truth in the trace: not scored" without one).
std::string write_division(const h5::Group& group, const DivisionRecord& record);

}  // namespace tessera::streams

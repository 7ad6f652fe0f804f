// What every benchmark reports, in one place: its tables, printed as Markdown while
// the rows come (rank 0), and written with the run's provenance to one HDF5 file
// that analysis/bench_table.py prints back as the same Markdown (docs/output.md,
// "Benchmark files"). How a benchmark times is bench/timing.hpp.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "io/output_file.hpp"

namespace tessera::bench {

// A column: its name in the file (lower case, digits and '_'), its heading when
// printed, the digits printed after the point (kText: a column of text), and the
// width it is printed at (0: its heading's, at least 8; rows print as they come, so
// a longer text is not padded to meet it).
struct Column {
  static constexpr int kText = -1;
  std::string key;
  std::string heading;
  int digits = 3;
  int width = 0;
};

// One value of a row: a number, or the text of a text column.
struct Cell {
  Cell(double value) : number(value) {}
  Cell(std::int64_t value) : number(static_cast<double>(value)) {}
  Cell(int value) : number(value) {}
  Cell(std::string value) : text(std::move(value)), is_text(true) {}
  Cell(const char* value) : text(value), is_text(true) {}
  double number = 0;
  std::string text;
  bool is_text = false;
};

class Table {
 public:
  // Prints the row (the headings before the first), on rank 0 of the report's
  // communicator. Its cells match the columns in number and kind: anything else is
  // a defect of the benchmark (an assertion).
  void add(const std::vector<Cell>& row);
  std::size_t rows() const { return rows_; }

 private:
  friend class Report;
  Table(std::string name, std::vector<Column> columns, bool printing);
  std::string name_;
  std::vector<Column> columns_;
  std::vector<std::vector<double>> numbers_;     // by column
  std::vector<std::vector<std::string>> texts_;  // by column
  std::size_t rows_ = 0;
  bool printing_;
};

// One benchmark's file, written whole or not at all by finish() (the caller checks,
// before the work, that nothing stands in the way of `path`).
class Report {
 public:
  // Collective over `comm`.
  Report(std::string path, MPI_Comm comm, io::Provenance provenance);
  // A new table, /bench/<name> in the file (its name as `Column::key`).
  Table& table(const std::string& name, std::vector<Column> columns);
  // A line under the tables: what the numbers mean, the targets. Printed now.
  void note(const std::string& line);
  // Collective: writes every table and note; returns the file's path.
  const std::string& finish();

 private:
  std::string path_;
  MPI_Comm comm_;
  io::Provenance provenance_;
  bool printing_;
  std::vector<std::unique_ptr<Table>> tables_;
  std::vector<std::string> notes_;
};

// The report of `bench NAME`, to be written to `run.out`/NAME.h5 with the run's
// provenance: the path checked now (collective over `comm`: a folder in its way is an
// error before the work), the file written by `writers` (MPI_COMM_NULL: `comm`;
// MPI_COMM_SELF where one rank measures).
Report report_for(const Config& config, MPI_Comm comm, MPI_Comm writers = MPI_COMM_NULL);

}  // namespace tessera::bench

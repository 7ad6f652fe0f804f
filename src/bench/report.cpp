#include "bench/report.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/options.hpp"
#include "core/error.hpp"

namespace tessera::bench {

namespace {

bool is_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Numbers right-aligned, text left-aligned, each at least as wide as its heading.
int width(const Column& column) {
  return std::max({static_cast<int>(column.heading.size()), 8, column.width});
}

void print_line(const std::vector<Column>& columns, const std::vector<std::string>& cells) {
  std::string line = "|";
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const auto pad = std::string(std::max<int>(0, width(columns[c]) - static_cast<int>(cells[c].size())), ' ');
    line += " " + (columns[c].digits == Column::kText ? cells[c] + pad : pad + cells[c]) + " |";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

Table::Table(std::string name, std::vector<Column> columns, bool printing)
    : name_(std::move(name)), columns_(std::move(columns)), numbers_(columns_.size()), texts_(columns_.size()),
      printing_(printing) {
  TESSERA_ASSERT(is_key(name_), "bench table '", name_, "': a name of lower case, digits and '_'");
  for (const auto& c : columns_)
    TESSERA_ASSERT(is_key(c.key) && c.key != "columns" && c.key != "headings" && c.key != "digits",
                   "bench table '", name_, "': column '", c.key, "' is not a name of lower case, digits and '_'");
}

void Table::add(const std::vector<Cell>& row) {
  TESSERA_ASSERT(row.size() == columns_.size(), "bench table '", name_, "': a row of ", row.size(), " cells for ",
                 columns_.size(), " columns");
  std::vector<std::string> printed;
  for (std::size_t c = 0; c < row.size(); ++c) {
    const bool text = columns_[c].digits == Column::kText;
    TESSERA_ASSERT(row[c].is_text == text, "bench table '", name_, "': column '", columns_[c].key, "' holds ",
                   text ? "text" : "numbers");
    if (text) {
      texts_[c].push_back(row[c].text);
      printed.push_back(row[c].text);
    } else {
      numbers_[c].push_back(row[c].number);
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.*f", columns_[c].digits, row[c].number);
      printed.emplace_back(buffer);
    }
  }
  if (printing_) {
    if (rows_ == 0) {
      std::vector<std::string> headings, rules;
      for (const auto& c : columns_) {
        headings.push_back(c.heading);
        rules.push_back(std::string(static_cast<std::size_t>(width(c) - 1), '-') + (c.digits == Column::kText ? "-" : ":"));
      }
      std::printf("\n");
      print_line(columns_, headings);
      print_line(columns_, rules);
    }
    print_line(columns_, printed);
  }
  ++rows_;
}

Report::Report(std::string path, MPI_Comm comm, io::Provenance provenance)
    : path_(std::move(path)), comm_(comm), provenance_(std::move(provenance)) {
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  printing_ = rank == 0;
}

Table& Report::table(const std::string& name, std::vector<Column> columns) {
  tables_.push_back(std::unique_ptr<Table>(new Table(name, std::move(columns), printing_)));
  return *tables_.back();
}

void Report::note(const std::string& line) {
  notes_.push_back(line);
  if (printing_) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
}

const std::string& Report::finish() {
  io::OutputFile file(path_, comm_, provenance_);
  auto top = file.root().require_group("bench");
  std::vector<std::string> names;
  for (const auto& table : tables_) names.push_back(table->name_);
  top.set_attr("tables", names);
  top.set_attr("notes", notes_);
  for (const auto& table : tables_) {
    auto group = top.require_group(table->name_);
    std::vector<std::string> keys, headings;
    std::vector<std::int64_t> digits;
    for (std::size_t c = 0; c < table->columns_.size(); ++c) {
      const auto& column = table->columns_[c];
      keys.push_back(column.key);
      headings.push_back(column.heading);
      digits.push_back(column.digits);
      if (column.digits == Column::kText)
        group.set_attr(column.key, table->texts_[c]);
      else
        group.set_attr(column.key, table->numbers_[c]);
    }
    group.set_attr("columns", keys);
    group.set_attr("headings", headings);
    group.set_attr("digits", digits);
  }
  file.commit();
  return path_;
}

Report report_for(const Config& config, MPI_Comm comm, MPI_Comm writers) {
  const auto& command = config.command();
  const auto name = command.substr(command.find(' ') + 1);  // "bench train" -> "train"
  const auto path = cli::checked_output_file(
      (std::filesystem::path(cli::output_folder(config, comm)) / (name + ".h5")).string(), comm);
  return Report(path, writers == MPI_COMM_NULL ? comm : writers,
                {command, config.ini_text(), config.get<std::uint64_t>("run.seed")});
}

}  // namespace tessera::bench

// Configuration: typed options declared by each command, read from an INI job file
// (`--config JOB.ini`, `[section]` + `key = value` gives option `section.key`) and
// overridden on the command line (`--section.key=value`). The resolved result is
// written into every output file as INI text.
#pragma once

#include <boost/program_options.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tessera {

namespace po = boost::program_options;

class Config {
 public:
  // Parses `args` (everything after the command name). Unknown options, bad values
  // and unreadable job files raise Error naming the option or file. Sections of
  // the job file that `options` does not use at all are ignored, so one job file
  // can carry the settings of several commands; a section outside `known_sections`
  // (every command's, when given) is an error, as is a key before any section.
  static Config parse(const std::string& command, const po::options_description& options,
                      const std::vector<std::string>& args, const std::set<std::string>& known_sections = {});

  bool help_requested() const { return help_; }
  const std::string& command() const { return command_; }

  template <class T>
  T get(const std::string& key) const {
    auto found = values_.find(key);
    TESSERA_ASSERT(found != values_.end() && !found->second.empty(), "option '", key, "' not declared");
    return found->second.as<T>();
  }
  bool has(const std::string& key) const { return values_.count(key) && !values_[key].empty(); }
  // True when the option kept its default (set neither in the job file nor on the command line).
  bool defaulted(const std::string& key) const { return !values_.count(key) || values_[key].defaulted(); }

  // The resolved configuration as INI text, one section per option prefix.
  std::string ini_text() const;

  // The settings a continued run must share with the run it continues: ini_text()
  // without its comment line and without the options in `ignored` (those that may
  // change between a run and its continuation: whether it resumes, how often it
  // checkpoints).
  std::string fingerprint(const std::vector<std::string>& ignored) const;

 private:
  std::string settings_text(const std::vector<std::string>& ignored) const;

  std::string command_;
  const po::options_description* options_ = nullptr;
  po::variables_map values_;
  bool help_ = false;
};

// "'LINE' here, 'LINE' in the checkpoint": the first line where two fingerprints
// differ; empty when they are equal.
std::string first_difference(const std::string& here, const std::string& there);

// Option values whose default --help shows as a person would write it: "0.9", not
// "0.90000000000000002"; "true", not "1".
po::typed_value<double>* real_value(double default_value);
po::typed_value<bool>* flag_value(bool default_value);

// The sections ("train" of "train.epochs") of the declared options.
std::set<std::string> sections_of(const po::options_description& options);

// Reads a comma-separated list option ("a,b,c"); empty text gives an empty list.
// An empty item ("a,,b", "a,") raises an Error naming `option` (its --name): it
// is a typo more often than not, and dropping it would change what was asked for.
std::vector<std::string> split_list(const std::string& text, const std::string& option);

}  // namespace tessera

#include "core/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace tessera {

namespace {

std::string section_of(const std::string& key) {
  auto dot = key.find('.');
  return dot == std::string::npos ? std::string() : key.substr(0, dot);
}

// boost::any holds one of the few types options are declared with.
std::string value_text(const boost::any& value) {
  std::ostringstream out;
  out.precision(17);
  if (auto p = boost::any_cast<std::string>(&value)) return *p;
  if (auto p = boost::any_cast<int>(&value)) out << *p;
  else if (auto p = boost::any_cast<std::int64_t>(&value)) out << *p;
  else if (auto p = boost::any_cast<std::uint64_t>(&value)) out << *p;
  else if (auto p = boost::any_cast<double>(&value)) {
    // The shortest text that reads back as the same double.
    for (int digits = 6; digits <= 17; ++digits) {
      std::ostringstream attempt;
      attempt.precision(digits);
      attempt << *p;
      // strtod, not stod: it reads subnormals (1e-315) without throwing.
      if (std::strtod(attempt.str().c_str(), nullptr) == *p || digits == 17) return attempt.str();
    }
  }
  else if (auto p = boost::any_cast<bool>(&value)) out << (*p ? "true" : "false");
  else TESSERA_ASSERT(false, "option of an unsupported type");
  return out.str();
}

// Boost.ProgramOptions (1.74) builds an error message by replacing tokens such as
// %value% with the offending text, and loops for ever when that text holds the token
// itself. Such text is refused before Boost sees it.
void refuse_placeholders(const std::string& text, const std::string& where) {
  static const std::regex token("%[A-Za-z_]+%");
  TESSERA_REQUIRE(!std::regex_search(text, token), where, ": text of the form %name% is not allowed in options");
}

std::string list_text(const std::set<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// Options that were renamed so that one idea has one name in every command; a job
// file or script that still uses the old name is told the new one.
const std::map<std::string, std::string>& renamed_options() {
  static const std::map<std::string, std::string> renamed = {
      {"attack.eval_samples", "--attack.eval_images"},
      {"attack.repeat", "--attack.held_set"},
      {"finetune.repeat", "--finetune.held_set"},
      {"attack.resume", "--run.resume"},
      {"attack.checkpoint_every", "--run.checkpoint_seconds (seconds, no longer generations)"},
      {"bench.eval_samples", "--bench.eval_images"},
      {"bench.repeats", "--bench.packets in bench packets, --attack.repeats in bench sweep"},
  };
  return renamed;
}

std::string renamed_note(std::string name) {
  name.erase(0, name.find_first_not_of('-'));
  const auto found = renamed_options().find(name);
  return found == renamed_options().end() ? "" : "; it is now " + found->second;
}

}  // namespace

std::set<std::string> sections_of(const po::options_description& options) {
  std::set<std::string> sections;
  for (const auto& option : options.options()) sections.insert(section_of(option->long_name()));
  return sections;
}

po::typed_value<double>* real_value(double default_value) {
  return po::value<double>()->default_value(default_value, value_text(boost::any(default_value)));
}

po::typed_value<bool>* flag_value(bool default_value) {
  return po::value<bool>()->default_value(default_value, default_value ? "true" : "false");
}

std::vector<std::string> split_list(const std::string& text, const std::string& option) {
  std::vector<std::string> items;
  if (text.find_first_not_of(" \t") == std::string::npos) return items;
  std::stringstream in(text + ",");  // so that a trailing comma leaves an empty last item
  std::string item;
  while (std::getline(in, item, ',')) {
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    TESSERA_REQUIRE(first != std::string::npos, option, ": an empty item in '", text, "'");
    items.push_back(item.substr(first, last - first + 1));
  }
  return items;
}

Config Config::parse(const std::string& command, const po::options_description& options,
                     const std::vector<std::string>& args, const std::set<std::string>& known_sections) {
  Config config;
  config.command_ = command;
  config.options_ = &options;

  po::options_description meta;
  meta.add_options()("help,h", "show this command's options")(
      "config", po::value<std::string>(), "INI job file; command-line options override it");
  po::options_description all;
  all.add(meta).add(options);

  const std::string see_help = " (see 'tessera " + command + " --help')";
  for (const auto& arg : args) refuse_placeholders(arg, "argument '" + arg + "'");
  try {
    const auto parsed = po::command_line_parser(args).options(all).run();
    for (const auto& option : parsed.options)
      TESSERA_REQUIRE(option.position_key < 0, "unexpected argument '",
                      option.original_tokens.empty() ? std::string() : option.original_tokens.front(),
                      "' (options are --section.key=value)", see_help);
    po::store(parsed, config.values_);
  } catch (const po::unknown_option& e) {
    // For "--key=value" Boost names the whole token; the value is not part of the name.
    const auto name = e.get_option_name().substr(0, e.get_option_name().find('='));
    throw Error("unknown option '" + name + "' for 'tessera " + command + "'" + renamed_note(name) + see_help);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + see_help);
  }
  config.help_ = config.values_.count("help") > 0;

  if (config.values_.count("config") && !config.help_) {
    const auto path = config.values_["config"].as<std::string>();
    std::ifstream file(path);
    TESSERA_REQUIRE(file, "cannot read job file '", path, "' (--config): ", std::strerror(errno));
    std::stringstream text;
    text << file.rdbuf();
    std::istringstream lines(text.str());
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number)
      refuse_placeholders(line, "job file '" + path + "', line " + std::to_string(number));
    po::parsed_options parsed(&all);
    try {
      std::istringstream contents(text.str());
      parsed = po::parse_config_file(contents, all, /*allow_unregistered=*/true);
    } catch (const po::error& e) {
      throw Error("job file '" + path + "': " + e.what());
    }
    // A typo inside a section this command reads is an error; other sections
    // belong to other commands, but a section no command reads is a typo too.
    for (const auto& option : parsed.options) {
      if (!option.unregistered) continue;
      const auto section = section_of(option.string_key);
      TESSERA_REQUIRE(!section.empty(), "job file '", path, "': '", option.string_key,
                      "' stands before any [section] (options are [section] then key = value)");
      TESSERA_REQUIRE(known_sections.empty() || known_sections.count(section), "job file '", path,
                      "': no command reads a section [", section, "] (known sections: ", list_text(known_sections), ")");
      for (const auto& known : options.options())
        TESSERA_REQUIRE(section_of(known->long_name()) != section, "job file '", path,
                        "': unknown option '", option.string_key, "' for 'tessera ", command, "'",
                        renamed_note(option.string_key), see_help);
    }
    try {
      po::store(parsed, config.values_);
    } catch (const po::error& e) {
      throw Error("job file '" + path + "': " + e.what());
    }
  }
  try {
    po::notify(config.values_);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + see_help);
  }
  // Unsigned options (seeds) are stored in files as int64; Boost reads "-1" as
  // 2^64 - 1, so the range is checked here rather than when the file is written.
  for (const auto& [key, value] : config.values_) {
    const auto* number = boost::any_cast<std::uint64_t>(&value.value());
    TESSERA_REQUIRE(!number || *number <= static_cast<std::uint64_t>(INT64_MAX), "--", key,
                    ": must be a whole number from 0 to ", INT64_MAX, ", got ", *number, see_help);
  }
  return config;
}

std::string Config::ini_text() const { return "# tessera " + command_ + ": resolved configuration\n" + settings_text({}); }

std::string Config::fingerprint(const std::vector<std::string>& ignored) const { return settings_text(ignored); }

std::string Config::settings_text(const std::vector<std::string>& ignored) const {
  std::map<std::string, std::map<std::string, std::string>> sections;
  for (const auto& option : options_->options()) {
    const auto& key = option->long_name();
    if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) continue;
    auto found = values_.find(key);
    if (found == values_.end() || found->second.empty()) continue;
    auto dot = key.find('.');
    sections[section_of(key)][key.substr(dot + 1)] = value_text(found->second.value());
  }
  std::ostringstream out;
  for (const auto& [section, entries] : sections) {
    out << "\n[" << section << "]\n";
    for (const auto& [key, value] : entries) out << key << " = " << value << "\n";
  }
  return out.str();
}

std::string first_difference(const std::string& here, const std::string& there) {
  std::istringstream x(here), y(there);
  std::string p, q;
  while (true) {
    const bool more_x = static_cast<bool>(std::getline(x, p)), more_y = static_cast<bool>(std::getline(y, q));
    if (!more_x && !more_y) return "";
    if (!more_x || !more_y || p != q) return "'" + p + "' here, '" + q + "' in the checkpoint";
  }
}

}  // namespace tessera

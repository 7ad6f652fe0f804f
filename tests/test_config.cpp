// Config: typed options from defaults, an INI job file and the command line, the
// errors for unknown or bad options and unreadable job files, the resolved INI
// text written into output files, and split_list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using tessera::Config;
using tessera::first_difference;
using tessera::flag_value;
using tessera::real_value;
using tessera::split_list;

namespace {

// A small command's options, in three sections, of the types commands use.
po::options_description test_options() {
  po::options_description options("options of 'tessera train'");
  options.add_options()
    ("train.epochs", po::value<int>()->default_value(2), "passes")
    ("train.lr", po::value<double>()->default_value(0.05), "learning rate")
    ("train.reuse", po::value<bool>()->default_value(false), "reuse")
    ("run.out", po::value<std::string>()->default_value("runs/train"), "output folder")
    ("run.seed", po::value<std::uint64_t>()->default_value(1), "seed")
    ("data.name", po::value<std::string>()->default_value("fashion-mnist"), "data set")
    ("data.train_limit", po::value<std::int64_t>()->default_value(0), "limit");
  return options;
}

// The message of the tessera::Error `body` throws, or a failure when it throws none.
std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const tessera::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a tessera::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a tessera::Error";
  return "";
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tessera-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string write_job(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path);
    out << text;
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  Config parse(const std::vector<std::string>& args) { return Config::parse("train", options_, args); }

  // Config keeps a pointer to the options: they live as long as the fixture.
  const po::options_description options_ = test_options();
  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsWhenNothingIsGiven) {
  const Config config = parse({});
  EXPECT_EQ(config.command(), "train");
  EXPECT_FALSE(config.help_requested());
  EXPECT_EQ(config.get<int>("train.epochs"), 2);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.05);
  EXPECT_FALSE(config.get<bool>("train.reuse"));
  EXPECT_EQ(config.get<std::string>("run.out"), "runs/train");
  EXPECT_EQ(config.get<std::uint64_t>("run.seed"), 1u);
  EXPECT_EQ(config.get<std::string>("data.name"), "fashion-mnist");
  EXPECT_EQ(config.get<std::int64_t>("data.train_limit"), 0);
  for (const char* key : {"train.epochs", "train.lr", "train.reuse", "run.out", "run.seed", "data.name"}) {
    EXPECT_TRUE(config.defaulted(key)) << key;
    EXPECT_TRUE(config.has(key)) << key;
  }
  EXPECT_FALSE(config.has("config"));
}

TEST_F(ConfigTest, CommandLineValues) {
  const Config config = parse({"--train.epochs=7", "--train.lr", "0.25", "--run.out=elsewhere",
                               "--train.reuse=true", "--run.seed=9223372036854775807",
                               "--data.train_limit=512"});
  EXPECT_EQ(config.get<int>("train.epochs"), 7);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.25);
  EXPECT_EQ(config.get<std::string>("run.out"), "elsewhere");
  EXPECT_TRUE(config.get<bool>("train.reuse"));
  EXPECT_EQ(config.get<std::uint64_t>("run.seed"), 9223372036854775807ull);
  EXPECT_EQ(config.get<std::int64_t>("data.train_limit"), 512);
  EXPECT_EQ(config.get<std::string>("data.name"), "fashion-mnist");
}

TEST_F(ConfigTest, HelpIsRecognised) {
  EXPECT_TRUE(parse({"--help"}).help_requested());
  EXPECT_TRUE(parse({"-h"}).help_requested());
  // --help wins over a job file that does not exist: the file is not read.
  EXPECT_TRUE(parse({"--help", "--config", (dir_ / "absent.ini").string()}).help_requested());
}

TEST_F(ConfigTest, JobFileGivesValues) {
  const auto path = write_job("job.ini",
                              "# a job\n"
                              "[train]\n"
                              "epochs = 5\n"
                              "lr = 0.125\n"
                              "\n"
                              "[run]\n"
                              "out = from-file\n");
  const Config config = parse({"--config", path});
  EXPECT_EQ(config.get<int>("train.epochs"), 5);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.125);
  EXPECT_EQ(config.get<std::string>("run.out"), "from-file");
  EXPECT_EQ(config.get<std::string>("data.name"), "fashion-mnist");
  EXPECT_FALSE(config.defaulted("train.epochs"));
  EXPECT_FALSE(config.defaulted("train.lr"));
  EXPECT_FALSE(config.defaulted("run.out"));
  EXPECT_TRUE(config.defaulted("data.name"));
  EXPECT_TRUE(config.defaulted("run.seed"));
}

TEST_F(ConfigTest, CommandLineOverridesJobFile) {
  const auto path = write_job("job.ini", "[train]\nepochs = 5\nlr = 0.125\n[run]\nout = from-file\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--config", path, "--train.epochs=9", "--run.out=from-cli"},
           {"--train.epochs=9", "--run.out=from-cli", "--config=" + path}}) {
    const Config config = parse(args);
    EXPECT_EQ(config.get<int>("train.epochs"), 9);
    EXPECT_EQ(config.get<std::string>("run.out"), "from-cli");
    EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.125);  // from the file, not overridden
    EXPECT_FALSE(config.defaulted("train.epochs"));
    EXPECT_FALSE(config.defaulted("train.lr"));
  }
}

TEST_F(ConfigTest, DefaultedOnlyForUnsetOptions) {
  // Setting an option to its default value still counts as set.
  const Config config = parse({"--train.epochs=2"});
  EXPECT_FALSE(config.defaulted("train.epochs"));
  EXPECT_TRUE(config.defaulted("train.lr"));
  EXPECT_TRUE(config.defaulted("run.out"));
}

TEST_F(ConfigTest, SectionsTheCommandDoesNotUseAreIgnored) {
  const auto path = write_job("shared.ini",
                              "[attack]\n"
                              "queries = 1000\n"
                              "strategy = greedy\n"
                              "[train]\n"
                              "epochs = 4\n"
                              "[bench]\n"
                              "repeats = 3\n");
  const Config config = parse({"--config", path});
  EXPECT_EQ(config.get<int>("train.epochs"), 4);
  EXPECT_THAT(config.ini_text(), AllOf(Not(HasSubstr("[attack]")), Not(HasSubstr("queries")),
                                       Not(HasSubstr("[bench]"))));
}

TEST_F(ConfigTest, UnknownKeyInAUsedSectionNamesFileAndKey) {
  const auto path = write_job("typo.ini", "[train]\nepochs = 4\nepochz = 3\n");
  EXPECT_THAT(error_of([&] { parse({"--config", path}); }),
              AllOf(HasSubstr(path), HasSubstr("train.epochz"), HasSubstr("unknown option")));
}

TEST_F(ConfigTest, BadValueInJobFileNamesFileAndOption) {
  const auto path = write_job("bad.ini", "[train]\nepochs = many\n");
  EXPECT_THAT(error_of([&] { parse({"--config", path}); }),
              AllOf(HasSubstr(path), HasSubstr("train.epochs"), HasSubstr("many")));
}

TEST_F(ConfigTest, UnknownCommandLineOptionIsNamed) {
  EXPECT_THAT(error_of([&] { parse({"--train.epochz", "3"}); }),
              AllOf(HasSubstr("unknown option '--train.epochz'"), HasSubstr("tessera train")));
  EXPECT_THAT(error_of([&] { parse({"--attack.queries"}); }),
              HasSubstr("unknown option '--attack.queries'"));
}

// The usual "--key=value" spelling: the message names the option, not the option and its value.
TEST_F(ConfigTest, UnknownCommandLineOptionWithValueIsNamedWithoutTheValue) {
  EXPECT_THAT(error_of([&] { parse({"--train.epochz=3"}); }),
              AllOf(HasSubstr("unknown option '--train.epochz'"), HasSubstr("tessera train")));
  EXPECT_THAT(error_of([&] { parse({"--attack.queries=3"}); }),
              HasSubstr("unknown option '--attack.queries'"));
}

// An option renamed so that one idea has one name: the old name is refused with the new one.
TEST_F(ConfigTest, RenamedOptionIsRefusedWithItsNewName) {
  EXPECT_THAT(error_of([&] { parse({"--attack.eval_samples=5"}); }),
              AllOf(HasSubstr("unknown option '--attack.eval_samples'"), HasSubstr("now --attack.eval_images")));
  EXPECT_THAT(error_of([&] { parse({"--attack.checkpoint_every", "3"}); }),
              HasSubstr("now --run.checkpoint_seconds (seconds, no longer generations)"));
  EXPECT_THAT(error_of([&] { parse({"--train.epochz=3"}); }), Not(HasSubstr("now --")));
  po::options_description attack_options;
  attack_options.add_options()("attack.held_set", po::value<std::int64_t>()->default_value(0), "which set");
  const auto path = write_job("old.ini", "[attack]\nrepeat = 2\n");
  EXPECT_THAT(error_of([&] { Config::parse("attack", attack_options, {"--config", path}); }),
              AllOf(HasSubstr(path), HasSubstr("attack.repeat'"), HasSubstr("now --attack.held_set")));
}

TEST_F(ConfigTest, BadCommandLineValueNamesOption) {
  EXPECT_THAT(error_of([&] { parse({"--train.epochs=abc"}); }),
              AllOf(HasSubstr("train.epochs"), HasSubstr("abc")));
  EXPECT_THAT(error_of([&] { parse({"--train.lr=fast"}); }),
              AllOf(HasSubstr("train.lr"), HasSubstr("fast")));
  EXPECT_THAT(error_of([&] { parse({"--data.train_limit=1.5"}); }), HasSubstr("data.train_limit"));
}

// Seeds are stored in files as int64; Boost reads "-1" as 2^64 - 1. Refused when
// parsed, not when the file is written after all the work.
TEST_F(ConfigTest, SeedsBeyondInt64AreRefusedWhenParsed) {
  EXPECT_THAT(error_of([&] { parse({"--run.seed=18446744073709551615"}); }),
              AllOf(HasSubstr("--run.seed"), HasSubstr("9223372036854775807")));
  EXPECT_THAT(error_of([&] { parse({"--run.seed=-1"}); }), HasSubstr("--run.seed"));
}

// Found by fuzzing: Boost 1.74 loops for ever formatting an error about a value that
// holds its own placeholder; a subnormal number made ini_text() throw a non-tessera error.
TEST_F(ConfigTest, PlaceholderTextIsRefusedBeforeBoostSeesIt) {
  const auto path = write_job("placeholder.ini", "[run]\nseed = %value%\n");
  EXPECT_THAT(error_of([&] { parse({"--config", path}); }), AllOf(HasSubstr(path), HasSubstr("line 2")));
  EXPECT_THAT(error_of([&] { parse({"--train.epochs=%value%"}); }), HasSubstr("%name%"));
}

TEST_F(ConfigTest, SubnormalNumbersRoundTrip) {
  const Config config = parse({"--train.lr=1e-315"});
  EXPECT_THAT(config.ini_text(), HasSubstr("lr = 1e-315"));
}

TEST_F(ConfigTest, StrayPositionalArgumentIsNamed) {
  EXPECT_THAT(error_of([&] { parse({"extra", "--train.epochs=3"}); }),
              AllOf(HasSubstr("unexpected argument 'extra'"), HasSubstr("tessera train")));
}

TEST_F(ConfigTest, KeyBeforeAnySectionNamesFileAndKey) {
  const auto path = write_job("nosection.ini", "epochs = 3\n[train]\nepochs = 4\n");
  EXPECT_THAT(error_of([&] { parse({"--config", path}); }),
              AllOf(HasSubstr(path), HasSubstr("'epochs'"), HasSubstr("before any [section]")));
}

TEST_F(ConfigTest, SectionNoCommandReadsIsNamed) {
  const auto path = write_job("misspelt.ini", "[trian]\nepochs = 3\n[attack]\nranks = 2\n");
  auto parse_known = [&] { return Config::parse("train", options_, {"--config", path}, {"train", "run", "data", "attack"}); };
  EXPECT_THAT(error_of([&] { parse_known(); }), AllOf(HasSubstr(path), HasSubstr("[trian]")));
  // Without the list of every command's sections, other sections are only ignored.
  EXPECT_EQ(parse({"--config", path}).get<int>("train.epochs"), 2);
}

TEST_F(ConfigTest, HelpShowsDefaultsAsWritten) {
  po::options_description options;
  options.add_options()("a.rate", real_value(0.9), "a rate")("a.flag", flag_value(true), "a flag");
  std::ostringstream text;
  text << options;
  EXPECT_THAT(text.str(), AllOf(HasSubstr("(=0.9)"), HasSubstr("(=true)"), Not(HasSubstr("0.900000"))));
}

TEST_F(ConfigTest, FingerprintLeavesOutTheNamedOptions) {
  const Config config = parse({"--train.epochs=7"});
  const auto all = config.fingerprint({}), some = config.fingerprint({"train.epochs"});
  EXPECT_THAT(all, HasSubstr("epochs = 7"));
  EXPECT_THAT(some, Not(HasSubstr("epochs =")));
  EXPECT_THAT(config.ini_text(), HasSubstr(all));
  EXPECT_EQ(first_difference(all, all), "");
  EXPECT_THAT(first_difference(all, some), HasSubstr("epochs = 7"));
}

TEST_F(ConfigTest, MissingValueNamesOption) {
  EXPECT_THAT(error_of([&] { parse({"--train.epochs"}); }), HasSubstr("train.epochs"));
}

TEST_F(ConfigTest, MissingJobFileIsNamed) {
  const std::string path = (dir_ / "absent.ini").string();
  EXPECT_THAT(error_of([&] { parse({"--config", path}); }), AllOf(HasSubstr(path), HasSubstr("--config")));
}

TEST_F(ConfigTest, IniTextHoldsEverySectionAndValue) {
  const Config config = parse({"--train.epochs=5", "--run.out=here"});
  const auto text = config.ini_text();
  EXPECT_THAT(text, AllOf(HasSubstr("[train]\n"), HasSubstr("[run]\n"), HasSubstr("[data]\n"),
                          HasSubstr("\nepochs = 5\n"), HasSubstr("\nout = here\n"),
                          HasSubstr("\nreuse = false\n"), HasSubstr("\nseed = 1\n"),
                          HasSubstr("\nname = fashion-mnist\n"), HasSubstr("\ntrain_limit = 0\n"),
                          HasSubstr("tessera train")));
  // The --config meta option is not part of the resolved configuration.
  EXPECT_THAT(text, AllOf(Not(HasSubstr("config =")), Not(HasSubstr("help"))));
}

TEST_F(ConfigTest, IniTextRoundTrips) {
  const Config first = parse({"--train.epochs=5", "--train.lr=0.1", "--train.reuse=true",
                              "--run.out=some folder/x", "--run.seed=12345678901234",
                              "--data.train_limit=300"});
  const auto text = first.ini_text();
  const auto path = write_job("resolved.ini", text);
  const Config second = parse({"--config", path});
  EXPECT_EQ(second.ini_text(), text);
  EXPECT_EQ(second.get<int>("train.epochs"), 5);
  EXPECT_EQ(second.get<double>("train.lr"), 0.1);  // exactly: written with 17 digits
  EXPECT_TRUE(second.get<bool>("train.reuse"));
  EXPECT_EQ(second.get<std::string>("run.out"), "some folder/x");
  EXPECT_EQ(second.get<std::uint64_t>("run.seed"), 12345678901234u);
  EXPECT_EQ(second.get<std::int64_t>("data.train_limit"), 300);

  // The defaults round-trip too.
  const auto defaults = parse({}).ini_text();
  EXPECT_EQ(parse({"--config", write_job("defaults.ini", defaults)}).ini_text(), defaults);
}

TEST(SplitList, SplitsOnCommasAndTrims) {
  EXPECT_THAT(split_list("a,b,c", "--x"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split_list(" a , b\t,c ", "--x"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split_list("one", "--x"), ElementsAre("one"));
  EXPECT_THAT(split_list("two words,x", "--x"), ElementsAre("two words", "x"));
}

TEST(SplitList, EmptyTextGivesNothing) {
  EXPECT_THAT(split_list("", "--x"), IsEmpty());
  EXPECT_THAT(split_list(" ", "--x"), IsEmpty());
}

// An empty item is refused, naming the option: dropped, "stats,,sa" ran as "stats,sa"
// under the name "stats,,sa", and "0.5,,0.1" lost a point of a sweep unnoticed.
TEST(SplitList, EmptyItemsAreRefusedNamingTheOption) {
  for (const char* text : {",", "a,,b", "a,", ",a", ", a ,\t, ", "a, ,b"}) {
    try {
      split_list(text, "--attack.method");
      ADD_FAILURE() << "'" << text << "' was accepted";
    } catch (const tessera::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("--attack.method: an empty item in")) << text;
    }
  }
}

}  // namespace

// The command line every Herald binary shares: --config, --set, --check-config, --version.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/config/config_reader.h"
#include "common/status.h"

namespace herald {

struct CommandLine {
  std::string config_path;                                // --config FILE (or HERALD_CONFIG)
  std::vector<std::pair<std::string, std::string>> sets;  // --set key.path=value, repeatable
  bool check_config = false;                              // --check-config: validate and exit
  bool help = false;
  bool version = false;
};

// Parses argv; errors name the offending argument.
Result<CommandLine> parse_command_line(int argc, char** argv);

// The usage text for `program` (one paragraph per option).
std::string usage_text(std::string_view program, std::string_view summary);

// Loads the config file (if any) and applies --set overrides.
Result<config::ConfigReader> open_config(const CommandLine& cli);

inline constexpr const char* kHeraldVersion = "0.1.0";

}  // namespace herald

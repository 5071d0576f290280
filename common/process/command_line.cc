// Parsing the shared command line.
#include "common/process/command_line.h"

#include <cstdlib>

namespace herald {

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cli;
  if (const char* env = std::getenv("HERALD_CONFIG"); env != nullptr) cli.config_path = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&](std::string* out) -> bool {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "--config" || arg == "-c") {
      if (!next(&cli.config_path)) return invalid_argument(arg + " needs a file name");
    } else if (arg.rfind("--config=", 0) == 0) {
      cli.config_path = arg.substr(9);
    } else if (arg == "--set") {
      std::string kv;
      if (!next(&kv)) return invalid_argument("--set needs key.path=value");
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return invalid_argument("--set '" + kv + "': expected key.path=value");
      cli.sets.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (arg == "--check-config") {
      cli.check_config = true;
    } else if (arg == "--help" || arg == "-h") {
      cli.help = true;
    } else if (arg == "--version") {
      cli.version = true;
    } else {
      return invalid_argument("unknown argument '" + arg + "' (see --help)");
    }
  }
  return cli;
}

std::string usage_text(std::string_view program, std::string_view summary) {
  std::string out;
  out += "usage: ";
  out += program;
  out += " [--config FILE] [--set key.path=value]... [--check-config] [--version]\n\n";
  out += summary;
  out +=
      "\n\n"
      "  --config FILE        YAML or JSON configuration (default: $HERALD_CONFIG, else built-in\n"
      "                       defaults). Unknown keys are refused.\n"
      "  --set key.path=VAL   override one value, e.g. --set edge.listen=0.0.0.0:3000. "
      "Environment\n"
      "                       variables HERALD_<KEY_PATH> (e.g. HERALD_EDGE_LISTEN) override the\n"
      "                       file; --set overrides both.\n"
      "  --check-config       validate the configuration, print it, and exit\n"
      "  --version            print the version and exit\n\n"
      "Every key is documented in docs/configuration.md.\n";
  return out;
}

Result<config::ConfigReader> open_config(const CommandLine& cli) {
  Result<config::ConfigReader> reader = config::ConfigReader();
  if (!cli.config_path.empty()) {
    reader = config::ConfigReader::from_file(cli.config_path);
    if (!reader.ok()) return reader.status();
  }
  for (const auto& [key, value] : cli.sets) reader->set_override(key, value);
  return reader;
}

}  // namespace herald

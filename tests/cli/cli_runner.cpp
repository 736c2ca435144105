#include "cli_runner.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/temp_dir.hpp"

namespace stload::testing {
namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args) {
  const TempDir scratch;
  const std::string err_path = (scratch.path() / "stderr").string();
  // `exec` so that the exit status is the binary's own, signals included.
  std::string command = "exec " + shell_quote(STLOAD_CLI_PATH);
  for (const std::string& arg : args) command += ' ' + shell_quote(arg);
  command += " 2>" + shell_quote(err_path) + " </dev/null";

  CliResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (status == -1) throw std::runtime_error("pclose failed: " + command);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  std::ifstream err(err_path, std::ios::binary);
  std::ostringstream text;
  text << err.rdbuf();
  result.err = text.str();
  return result;
}

}  // namespace stload::testing

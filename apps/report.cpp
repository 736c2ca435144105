#include "report.hpp"

#include <filesystem>
#include <iostream>
#include <new>
#include <string>

#include "commands.hpp"
#include "stload/error.hpp"
#include "text.hpp"

namespace stload::cli {
namespace {

void print(std::string_view path, std::string_view code, std::string_view message) {
  // Library messages already start with the file they are about; when that file is PATH itself,
  // saying it twice adds nothing. A shard's message keeps its own file name.
  const std::string prefix = std::string(path) + ": ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  std::cerr << printable(path) << ": " << code << ": " << printable(message) << '\n';
}

}  // namespace

int report_current_exception(std::string_view path) noexcept {
  try {
    try {
      throw;
    } catch (const stload::Error& e) {
      print(path, to_string(e.code()), e.what());
      return e.code() == ErrorCode::NotFound ? kExitUsage : kExitFailure;
    } catch (const std::bad_alloc&) {
      print(path, to_string(ErrorCode::OutOfMemory), "out of host memory");
    } catch (const std::filesystem::filesystem_error& e) {
      print(path, to_string(ErrorCode::Io), e.what());
    } catch (const std::exception& e) {
      print(path, "UnexpectedError", e.what());
    } catch (...) {
      print(path, "UnexpectedError", "unknown exception");
    }
  } catch (...) {
    // Printing itself failed (no memory for the message); the exit code still tells.
  }
  return kExitFailure;
}

}  // namespace stload::cli

#include "dtype_arg.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stload::cli {

DtypeConversion dtype_conversion_from(const ParsedArgs& args) {
  const auto text = args.value("--dtype");
  if (!text) return {};
  if (text->empty()) throw UsageError("--dtype needs a dtype name or JSON rules");
  // A file of rules, as --split takes one; a dtype name is never a file here unless the caller
  // made one of that name, so a name wins over a file only when the file does not exist.
  if (text->front() != '{' && std::filesystem::is_regular_file(*text)) {
    std::ifstream in(*text);
    std::stringstream rules;
    rules << in.rdbuf();
    return parse_dtype_conversion(rules.str());
  }
  return parse_dtype_conversion(*text);
}

}  // namespace stload::cli

#include "detail/tensor_selection.hpp"

#include <string>
#include <string_view>

#include "detail/check.hpp"
#include "detail/log.hpp"
#include "stload/name_rules.hpp"

namespace stload::detail {
namespace {

// The checkpoint as a message names it: its first file (and how many others).
std::string describe(const Checkpoint& checkpoint) {
  const auto files = checkpoint.files();
  if (files.empty()) return "the checkpoint";
  std::string out = "checkpoint '" + files.front().path.string() + "'";
  if (files.size() > 1) out += " (and " + std::to_string(files.size() - 1) + " more files)";
  return out;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "'" : ", '") + item + "'";
  return out;
}

// The tensors' names; only the kept ones when `keep` is given.
std::vector<std::string_view> names_of(const Checkpoint& checkpoint,
                                       const std::vector<bool>* keep = nullptr) {
  const auto tensors = checkpoint.tensors();
  std::vector<std::string_view> out;
  out.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (keep == nullptr || (*keep)[i]) out.emplace_back(tensors[i].info.name);
  }
  return out;
}

}  // namespace

std::vector<bool> select_tensors(const Checkpoint& checkpoint, const PlanOptions& options) {
  const auto tensors = checkpoint.tensors();
  std::vector<bool> keep(tensors.size(), true);
  if (!options.only.empty()) {
    std::vector<std::pair<std::string, bool>> rules;
    rules.reserve(options.only.size());
    for (const std::string& pattern : options.only) {
      bool repeated = false;
      for (const auto& rule : rules) repeated = repeated || rule.first == pattern;
      if (!repeated) rules.emplace_back(pattern, true);  // a repeat selects nothing new
    }
    NameRules<bool> only;
    try {
      only = NameRules<bool>(std::move(rules));
    } catch (const Error& e) {
      throw Error(e.code(), std::string("only: ") + e.what());
    }
    if (!options.allow_unmatched) {
      const auto missing = only.unmatched(names_of(checkpoint));
      STLOAD_EXPECT(missing.empty(), ErrorCode::InvalidArgument,
                    "only: " + std::string(missing.size() == 1 ? "pattern " : "patterns ") +
                        quoted_list(missing) + " match no tensor of " + describe(checkpoint) +
                        " (allow_unmatched accepts that)");
    }
    for (std::size_t i = 0; i < tensors.size(); ++i)
      keep[i] = only.find(tensors[i].info.name) != nullptr;
  }
  bool any = false;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (keep[i] && options.filter && !options.filter(tensors[i].info.name)) keep[i] = false;
    any = any || keep[i];
  }
  const bool selecting = !options.only.empty() || static_cast<bool>(options.filter);
  STLOAD_EXPECT(any || !selecting || tensors.empty() || options.allow_unmatched,
                ErrorCode::InvalidArgument,
                "the filter selects no tensor of " + describe(checkpoint) +
                    " (allow_unmatched accepts an empty load)");

  // Device map rules that place nothing: not an error (accelerate ignores unused keys), but
  // likely a typo, so say it.
  const DeviceMap& map = options.device_map;
  if (!map.is_automatic()) {
    const auto unused = map.unmatched_rules(names_of(checkpoint, &keep));
    if (!unused.empty()) {
      log(LogLevel::Warning, "device_map: " + std::string(unused.size() == 1 ? "rule " : "rules ") +
                                 quoted_list(unused) + " match no tensor loaded from " +
                                 describe(checkpoint));
    }
  }
  return keep;
}

}  // namespace stload::detail

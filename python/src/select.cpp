#include "select.hpp"

#include <functional>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "stload/error.hpp"
#include "stload/name_rules.hpp"

namespace stload::python {
namespace {

// safe_open's get_tensor(name): exact names, never patterns (a tensor's name may hold a '*' or
// an empty segment), and a missing one is TensorNotFound (KeyError), as in the reference.
class ExactNames {
 public:
  explicit ExactNames(const std::vector<std::string>& names) : names_(names.begin(), names.end()) {}

  [[nodiscard]] bool contains(std::string_view name) const { return names_.contains(name); }

  [[nodiscard]] std::string missing_from(const Checkpoint& checkpoint) const {
    std::string out;
    for (const std::string& name : names_) {
      if (checkpoint.find(name) == nullptr) out += (out.empty() ? "'" : ", '") + name + "'";
    }
    return out;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> names_;
};

// One file of several (iter_tensors): a pattern must match somewhere in the checkpoint, not in
// every file, so the check the plan makes per load (plan.hpp) is made here once, the same way.
void check_patterns_match(const Checkpoint& checkpoint, const std::vector<std::string>& only) {
  std::vector<std::pair<std::string, bool>> rules;
  for (const std::string& pattern : only) {
    bool repeated = false;
    for (const auto& rule : rules) repeated = repeated || rule.first == pattern;
    if (!repeated) rules.emplace_back(pattern, true);
  }
  const NameRules<bool> patterns(std::move(rules));
  std::vector<std::string_view> names;
  for (const TensorRecord& record : checkpoint.tensors()) names.emplace_back(record.info.name);
  const std::vector<std::string> missing = patterns.unmatched(names);
  if (missing.empty()) return;
  std::string list;
  for (const std::string& pattern : missing) list += (list.empty() ? "'" : ", '") + pattern + "'";
  throw Error(ErrorCode::InvalidArgument, "only: patterns " + list +
                                              " match no tensor of the checkpoint (allow_unmatched "
                                              "accepts that)");
}

EngineKind engine_for(const DeviceMap& map, bool host_only) {
  if (host_only) return EngineKind::Cpu;
  if (map.is_automatic()) return EngineKind::Auto;
  for (const Device& device : map.devices()) {
    if (device.kind == DeviceKind::Cuda) return EngineKind::Cuda;
  }
  return EngineKind::Cpu;
}

}  // namespace

LoadOptions make_load_options(const Checkpoint& checkpoint, const Selection& selection) {
  LoadOptions options;
  options.device_map = DeviceMap::parse(selection.device_map.value_or("cpu"));
  options.device_map_given = true;
  if (selection.host_only && !options.device_map.is_automatic()) {
    for (const Device& device : options.device_map.devices()) {
      if (device.kind == DeviceKind::Cuda) {
        throw Error(ErrorCode::InvalidArgument,
                    "device_map names " + device.to_string() +
                        ": numpy arrays live in host memory (use framework=\"pt\" or a cpu "
                        "device)");
      }
    }
  }
  options.engine = engine_for(options.device_map, selection.host_only);
  options.zero_copy = selection.zero_copy;
  options.tensor_parallel = selection.tensor_parallel;
  options.dtype = selection.dtype;
  // Caller memory: checked against the plan by load() (stload/loader.hpp); a GPU among its
  // devices needs the CUDA engine whatever the map says.
  const auto note_device = [&](const Device& device) {
    if (device.kind != DeviceKind::Cuda) return;
    if (selection.host_only)
      throw Error(ErrorCode::InvalidArgument,
                  "caller memory on " + device.to_string() +
                      ": numpy arrays live in host memory (use framework=\"pt\" or a cpu device)");
    if (options.engine == EngineKind::Cpu) options.engine = EngineKind::Cuda;
  };
  for (const DestinationSpec& spec : selection.destinations) {
    const Device device = Device::parse(spec.device);
    note_device(device);
    const bool added =
        options.destinations
            .emplace(spec.name,
                     TensorDestination{device, reinterpret_cast<void*>(spec.data), spec.bytes})
            .second;
    if (!added)
      throw Error(ErrorCode::InvalidArgument,
                  "destinations: tensor '" + spec.name + "' is given twice");
  }
  for (const auto& [text, allocator] : selection.allocators) {
    const Device device = Device::parse(text);
    note_device(device);
    if (!options.allocators.emplace(device, allocator).second)
      throw Error(ErrorCode::InvalidArgument,
                  "allocators: " + device.to_string() + " is given twice");
  }

  std::shared_ptr<const ExactNames> exact;
  if (selection.only) {
    if (selection.only->empty())
      throw Error(ErrorCode::InvalidArgument, "only= names no tensor (an empty list)");
    if (selection.exact) {
      exact = std::make_shared<const ExactNames>(*selection.only);
      const std::string missing = exact->missing_from(checkpoint);
      if (!missing.empty())
        throw Error(ErrorCode::TensorNotFound, "no tensor named " + missing + " in the checkpoint");
    } else {
      // Name patterns (stload/name_rules.hpp), checked by the plan like everywhere else.
      options.only = *selection.only;
      options.allow_unmatched = selection.allow_unmatched;
    }
  }
  const std::optional<std::size_t> file = selection.file;
  if (file && *file >= checkpoint.files().size()) {
    throw Error(ErrorCode::InvalidArgument, "the checkpoint has no file #" + std::to_string(*file));
  }
  if (file && !options.only.empty() && !options.allow_unmatched) {
    check_patterns_match(checkpoint, options.only);
    options.allow_unmatched = true;  // a file the patterns select nothing of loads empty
  }
  if (exact || file) {
    const Checkpoint* source = &checkpoint;  // outlives the load that calls the filter
    options.filter = [exact, file, source](std::string_view name) {
      if (exact && !exact->contains(name)) return false;
      if (file) {
        const TensorRecord* record = source->find(name);
        return record != nullptr && record->file == *file;
      }
      return true;
    };
  }
  return options;
}

}  // namespace stload::python

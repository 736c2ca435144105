#include "select.hpp"

#include <memory>
#include <string_view>
#include <functional>
#include <unordered_map>

#include "stload/error.hpp"

namespace stload::python {
namespace {

// Entries of `only`: an exact name, or a module prefix matching at a dot ("model.layers.1"
// selects "model.layers.1.mlp.w" but not "model.layers.10.w"); a trailing dot is allowed.
class NameSelector {
 public:
  NameSelector(const std::vector<std::string>& entries, bool exact) : exact_(exact) {
    for (const std::string& entry : entries) {
      std::string_view key = entry;
      if (!exact && key.size() > 1 && key.back() == '.') key.remove_suffix(1);
      entries_.emplace(std::string(key), false);
    }
  }

  // Marks the entry that selected `name`, so unmatched entries can be reported.
  bool select(std::string_view name) {
    if (mark(name)) return true;
    if (exact_) return false;
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos;
         dot = name.find('.', dot + 1)) {
      if (mark(name.substr(0, dot))) return true;
    }
    return false;
  }

  [[nodiscard]] bool contains(std::string_view name) const {
    if (entries_.contains(name)) return true;
    if (exact_) return false;
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos;
         dot = name.find('.', dot + 1)) {
      if (entries_.contains(name.substr(0, dot))) return true;
    }
    return false;
  }

  [[nodiscard]] std::string unmatched() const {
    std::string out;
    for (const auto& [entry, matched] : entries_) {
      if (matched) continue;
      out += (out.empty() ? "'" : ", '") + entry + "'";
    }
    return out;
  }

 private:
  bool mark(std::string_view key) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    it->second = true;
    return true;
  }

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::unordered_map<std::string, bool, Hash, std::equal_to<>> entries_;
  bool exact_;
};

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

  std::shared_ptr<NameSelector> selector;
  if (selection.only) {
    if (selection.only->empty())
      throw Error(ErrorCode::InvalidArgument, "only= names no tensor (an empty list)");
    selector = std::make_shared<NameSelector>(*selection.only, selection.exact);
    for (const TensorRecord& record : checkpoint.tensors()) (void)selector->select(record.info.name);
    const std::string missing = selector->unmatched();
    if (!missing.empty()) {
      throw Error(ErrorCode::TensorNotFound,
                  "only= entries match no tensor of the checkpoint: " + missing);
    }
  }
  const std::optional<std::size_t> file = selection.file;
  if (file && *file >= checkpoint.files().size()) {
    throw Error(ErrorCode::InvalidArgument, "the checkpoint has no file #" + std::to_string(*file));
  }
  if (selector || file) {
    const Checkpoint* source = &checkpoint;  // outlives the load that calls the filter
    options.filter = [selector, file, source](std::string_view name) {
      if (selector && !selector->contains(name)) return false;
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

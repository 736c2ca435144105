#pragma once
// What a Python call asks to load: which tensors (`only`, one file of a sharded checkpoint), where
// (the device_map text) and with which engine.

#include <optional>
#include <string>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/loader.hpp"

namespace stload::python {

struct Selection {
  std::optional<std::string> device_map;  ///< "cpu", "cuda:1", "auto" or a JSON object of rules
  std::optional<std::vector<std::string>> only;  ///< tensor names or dotted module prefixes
  bool exact = false;                            ///< `only` holds exact names, no prefixes
  std::optional<std::size_t> file;               ///< only the tensors of this file
  bool host_only = false;                        ///< numpy: every tensor must land in host memory
};

/// @brief Load options for `selection`. The engine follows the map: CUDA when it names a GPU,
/// the best available for "auto" (CPU when host_only), else CPU.
/// @throws Error InvalidArgument for a bad map, a GPU under host_only, or an empty `only`;
///         TensorNotFound naming each `only` entry that matches no tensor of `checkpoint`.
[[nodiscard]] LoadOptions make_load_options(const Checkpoint& checkpoint,
                                            const Selection& selection);

}  // namespace stload::python

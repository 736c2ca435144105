#pragma once
// What a Python call asks to load: which tensors (`only`, one file of a sharded checkpoint), where
// (the device_map text) and with which engine.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/dtype_rules.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_parallel.hpp"

namespace stload::python {

/// @brief Memory of the caller's that one tensor is loaded into (stload.load_file(destinations=)).
struct DestinationSpec {
  std::string name;     ///< the checkpoint's tensor
  std::string device;   ///< "cpu", "cuda:1"
  std::uintptr_t data;  ///< its first byte (a device pointer for CUDA)
  std::uint64_t bytes;  ///< its size
};

struct Selection {
  std::optional<std::string> device_map;  ///< "cpu", "cuda:1", "auto" or a JSON object of rules
  std::optional<std::vector<std::string>> only;  ///< name patterns (stload/name_rules.hpp)
  bool exact = false;                            ///< `only` holds exact names, no patterns
  std::optional<std::size_t> file;               ///< only the tensors of this file
  bool host_only = false;                        ///< numpy: every tensor must land in host memory
  bool allow_unmatched = false;                  ///< a pattern matching nothing is fine
  bool zero_copy = false;  ///< CPU tensors view the file's private mapping (LoadOptions::zero_copy)
  std::vector<DestinationSpec> destinations;                       ///< LoadOptions::destinations
  std::vector<std::pair<std::string, ArenaAllocator>> allocators;  ///< device text -> allocator
  TensorParallel tensor_parallel;  ///< this rank's parts (LoadOptions::tensor_parallel)
  DtypeConversion dtype;           ///< dtypes to load tensors as (LoadOptions::dtype)
};

/// @brief Load options for `selection`. The engine follows the map: CUDA when it names a GPU
/// (or a destination or allocator is on one), the best available for "auto" (CPU when
/// host_only), else CPU.
/// @throws Error InvalidArgument for a bad map, a GPU under host_only, an empty or invalid `only`,
///         or (unless allow_unmatched) a pattern matching no tensor, naming it (now, or when the
///         plan is made); TensorNotFound naming each `exact` name the checkpoint lacks.
[[nodiscard]] LoadOptions make_load_options(const Checkpoint& checkpoint,
                                            const Selection& selection);

}  // namespace stload::python

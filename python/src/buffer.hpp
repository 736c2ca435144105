#pragma once
// Validates a safetensors file held in memory (`stload.torch.load(data)`, `stload.numpy.load`):
// the same header rules as a file on disk, so bytes and files are accepted or refused alike.

#include <nanobind/nanobind.h>

namespace stload::python {

/// @brief Parses and validates `data`, a whole safetensors file.
/// @return (metadata dict, [(name, dtype, shape tuple, begin, end)]) in data order, with begin and
///         end absolute offsets into `data`
/// @throws Error with the format ErrorCode of the first rule `data` breaks
[[nodiscard]] nanobind::tuple parse_buffer(const nanobind::bytes& data);

}  // namespace stload::python

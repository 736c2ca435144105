#pragma once
// How each safetensors dtype crosses DLPack into torch or numpy. Dtypes a framework cannot take
// through DLPack travel as a "carrier" of the same bytes (unsigned integers) and are re-viewed
// in Python (torch's float8/float4 types) or stay raw (numpy has no bfloat16, float8 or float4).

#include <cstdint>
#include <vector>

#include <nanobind/ndarray.h>

#include "stload/dtype.hpp"

namespace stload::python {

enum class Framework : std::uint8_t { Torch, Numpy };

/// How the exported shape relates to the header's shape.
enum class CarrierShape : std::uint8_t {
  Same,       ///< one carrier element per element
  HalveLast,  ///< F4: two elements per byte, last dimension halved (torch's float4_e2m1fn_x2)
  Bytes,      ///< F6 (and F4 with an odd last dimension): the packed bytes, flat
};

struct Carrier {
  nanobind::dlpack::dtype dtype;
  CarrierShape shape = CarrierShape::Same;
};

[[nodiscard]] Carrier carrier_for(Dtype dtype, const std::vector<std::uint64_t>& shape,
                                  Framework framework) noexcept;

/// The exported shape of a tensor of `bytes` bytes, as `carrier` says.
[[nodiscard]] std::vector<std::size_t> carrier_shape(const Carrier& carrier,
                                                     const std::vector<std::uint64_t>& shape,
                                                     std::uint64_t bytes);

}  // namespace stload::python

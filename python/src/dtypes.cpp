#include "dtypes.hpp"

namespace stload::python {
namespace {

namespace dl = nanobind::dlpack;

constexpr dl::dtype make(dl::dtype_code code, std::uint8_t bits) noexcept {
  return dl::dtype{static_cast<std::uint8_t>(code), bits, 1};
}

}  // namespace

Carrier carrier_for(Dtype dtype, const std::vector<std::uint64_t>& shape,
                    Framework framework) noexcept {
  using C = dl::dtype_code;
  switch (dtype) {
    case Dtype::BOOL:
      return {make(C::Bool, 8)};
    case Dtype::U8:
      return {make(C::UInt, 8)};
    case Dtype::I8:
      return {make(C::Int, 8)};
    case Dtype::I16:
      return {make(C::Int, 16)};
    case Dtype::U16:
      return {make(C::UInt, 16)};
    case Dtype::F16:
      return {make(C::Float, 16)};
    case Dtype::BF16:
      // numpy has no bfloat16: the raw bits as uint16.
      return {framework == Framework::Torch ? make(C::Bfloat, 16) : make(C::UInt, 16)};
    case Dtype::I32:
      return {make(C::Int, 32)};
    case Dtype::U32:
      return {make(C::UInt, 32)};
    case Dtype::F32:
      return {make(C::Float, 32)};
    case Dtype::C64:
      return {make(C::Complex, 64)};
    case Dtype::F64:
      return {make(C::Float, 64)};
    case Dtype::I64:
      return {make(C::Int, 64)};
    case Dtype::U64:
      return {make(C::UInt, 64)};
    case Dtype::F8_E5M2:
    case Dtype::F8_E4M3:
    case Dtype::F8_E8M0:
    case Dtype::F8_E4M3FNUZ:
    case Dtype::F8_E5M2FNUZ:
      return {make(C::UInt, 8)};
    case Dtype::F4:
      if (!shape.empty() && shape.back() % 2 == 0) return {make(C::UInt, 8), CarrierShape::HalveLast};
      return {make(C::UInt, 8), CarrierShape::Bytes};
    case Dtype::F6_E2M3:
    case Dtype::F6_E3M2:
      return {make(C::UInt, 8), CarrierShape::Bytes};
  }
  return {make(C::UInt, 8), CarrierShape::Bytes};
}

std::vector<std::size_t> carrier_shape(const Carrier& carrier,
                                       const std::vector<std::uint64_t>& shape,
                                       std::uint64_t bytes) {
  switch (carrier.shape) {
    case CarrierShape::Same:
      return {shape.begin(), shape.end()};
    case CarrierShape::HalveLast: {
      std::vector<std::size_t> out(shape.begin(), shape.end());
      out.back() /= 2;
      return out;
    }
    case CarrierShape::Bytes:
      break;
  }
  return {static_cast<std::size_t>(bytes)};
}

}  // namespace stload::python

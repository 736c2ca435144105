#include "cpu/convert_elements.hpp"

#include <cstring>
#include <string>

#include "convert/float_bits.hpp"
#include "detail/check.hpp"

namespace stload::detail {
namespace {

using namespace stload::convert;

// Element loads and stores through memcpy: the spans are byte-addressed (a tensor may start at any
// offset of a chunk), and compilers turn these into plain moves.
template <typename Bits>
Bits load(const std::byte* at) {
  Bits bits;
  std::memcpy(&bits, at, sizeof bits);
  return bits;
}
template <typename Bits>
void store(std::byte* at, Bits bits) {
  std::memcpy(at, &bits, sizeof bits);
}

// Exact decodings to a double's bits, one per source dtype.
std::uint64_t decode_f64(const std::byte* at) {
  return load<std::uint64_t>(at);
}
std::uint64_t decode_f32(const std::byte* at) {
  return f32_to_double(load<std::uint32_t>(at));
}
std::uint64_t decode_f16(const std::byte* at) {
  return f16_to_double(load<std::uint16_t>(at));
}
std::uint64_t decode_bf16(const std::byte* at) {
  return bf16_to_double(load<std::uint16_t>(at));
}
std::uint64_t decode_e4m3(const std::byte* at) {
  return f8_e4m3_to_double(load<std::uint8_t>(at));
}
std::uint64_t decode_e5m2(const std::byte* at) {
  return f8_e5m2_to_double(load<std::uint8_t>(at));
}

// Roundings from a double's bits, one per target dtype.
void encode_f64(std::byte* at, std::uint64_t bits) {
  store(at, bits);
}
void encode_f32(std::byte* at, std::uint64_t bits) {
  store(at, double_to_f32(bits));
}
void encode_f16(std::byte* at, std::uint64_t bits) {
  store(at, double_to_f16(bits));
}
void encode_bf16(std::byte* at, std::uint64_t bits) {
  store(at, double_to_bf16(bits));
}

using Decode = std::uint64_t (*)(const std::byte*);
using Encode = void (*)(std::byte*, std::uint64_t);

// The general loop: decode exactly, round once. Templated on the two functions so each pair
// compiles to its own loop without indirect calls.
template <Decode decode, Encode encode>
void convert_loop(const std::byte* in, std::size_t in_size, std::byte* out, std::size_t out_size,
                  std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) encode(out + i * out_size, decode(in + i * in_size));
}

template <Decode decode>
bool convert_from(Dtype to, const std::byte* in, std::size_t in_size, std::byte* out,
                  std::uint64_t count) {
  switch (to) {
    case Dtype::F64:
      convert_loop<decode, encode_f64>(in, in_size, out, 8, count);
      return true;
    case Dtype::F32:
      convert_loop<decode, encode_f32>(in, in_size, out, 4, count);
      return true;
    case Dtype::F16:
      convert_loop<decode, encode_f16>(in, in_size, out, 2, count);
      return true;
    case Dtype::BF16:
      convert_loop<decode, encode_bf16>(in, in_size, out, 2, count);
      return true;
    default:
      return false;
  }
}

bool is_wide_float(Dtype dtype) {
  return dtype == Dtype::F64 || dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16;
}

}  // namespace

bool convertible(Dtype from, Dtype to) noexcept {
  if (from == to) return true;
  if (is_wide_float(from)) return is_wide_float(to);
  if (from == Dtype::F8_E4M3 || from == Dtype::F8_E5M2)
    return to == Dtype::F32 || to == Dtype::F16 || to == Dtype::BF16;
  return false;
}

void convert_elements(Dtype from, Dtype to, const std::byte* in, std::byte* out,
                      std::uint64_t count) {
  STLOAD_EXPECT(convertible(from, to), ErrorCode::InvalidArgument,
                std::string("no conversion from ") + std::string(to_string(from)) + " to " +
                    std::string(to_string(to)));
  if (from == to) {
    std::memcpy(out, in, (count * bit_size(from) + 7) / 8);
    return;
  }
  // The conversions servers ask for most, on the bits directly (loops that vectorize).
  if (from == Dtype::BF16 && to == Dtype::F32) {
    for (std::uint64_t i = 0; i < count; ++i)
      store(out + 4 * i, bf16_to_f32(load<std::uint16_t>(in + 2 * i)));
    return;
  }
  if (from == Dtype::F16 && to == Dtype::F32) {
    for (std::uint64_t i = 0; i < count; ++i)
      store(out + 4 * i, f16_to_f32(load<std::uint16_t>(in + 2 * i)));
    return;
  }
  if (from == Dtype::F16 && to == Dtype::BF16) {  // F16 -> F32 is exact: one rounding in all
    for (std::uint64_t i = 0; i < count; ++i)
      store(out + 2 * i, f32_to_bf16(f16_to_f32(load<std::uint16_t>(in + 2 * i))));
    return;
  }
  if (from == Dtype::F32 && to == Dtype::BF16) {
    for (std::uint64_t i = 0; i < count; ++i)
      store(out + 2 * i, f32_to_bf16(load<std::uint32_t>(in + 4 * i)));
    return;
  }
  switch (from) {
    case Dtype::F64:
      (void)convert_from<decode_f64>(to, in, 8, out, count);
      return;
    case Dtype::F32:
      (void)convert_from<decode_f32>(to, in, 4, out, count);
      return;
    case Dtype::F16:
      (void)convert_from<decode_f16>(to, in, 2, out, count);
      return;
    case Dtype::BF16:
      (void)convert_from<decode_bf16>(to, in, 2, out, count);
      return;
    case Dtype::F8_E4M3:
      (void)convert_from<decode_e4m3>(to, in, 1, out, count);
      return;
    case Dtype::F8_E5M2:
      (void)convert_from<decode_e5m2>(to, in, 1, out, count);
      return;
    default:
      break;
  }
  STLOAD_FAIL(ErrorCode::InvalidArgument, "convertible() and convert_elements() disagree");
}

}  // namespace stload::detail

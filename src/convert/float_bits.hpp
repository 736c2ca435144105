#pragma once
// Element conversions between floating dtypes, on bit patterns, written once for the host and the
// device (__host__ __device__ under nvcc): every conversion decodes its input exactly into a
// double's bits, then rounds that double to the target with round-to-nearest-even. Decoding is
// exact for every source here (F64, F32, F16, BF16, F8_E4M3 and F8_E5M2 all embed in a double),
// so each conversion rounds once, as IEEE 754 and numpy do: going F64 -> F32 -> F16 instead would
// round twice and differ on ties.
//
// NaN: the result is a quiet NaN of the input's sign, keeping the payload's top bits (numpy's
// and ml_dtypes' NaN payloads differ from each other; only NaN-ness and sign are promised).
// Infinities stay infinities; finite values beyond the target's range become infinities (F16,
// BF16, F32: all have them); subnormals are produced and consumed as IEEE specifies.
// F8_E4M3 is the "fn" variant (no infinities, S.1111.111 is NaN, largest 448); F8_E5M2 is
// IEEE-like (infinities and NaNs). Both are only ever sources: nothing is converted to 8 bits.

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define STLOAD_HOST_DEVICE __host__ __device__
#else
#define STLOAD_HOST_DEVICE
#endif

namespace stload::convert {

/// A binary floating format: exponent and mantissa widths (the sign is one bit above them).
struct FloatFormat {
  int exponent_bits;
  int mantissa_bits;
};
inline constexpr FloatFormat kF64{11, 52};
inline constexpr FloatFormat kF32{8, 23};
inline constexpr FloatFormat kF16{5, 10};
inline constexpr FloatFormat kBF16{8, 7};

namespace internal {

inline constexpr std::uint64_t kF64SignBit = 1ULL << 63U;
inline constexpr std::uint64_t kF64ExponentMask = 0x7FFULL << 52U;
inline constexpr std::uint64_t kF64MantissaMask = (1ULL << 52U) - 1;
inline constexpr int kF64Bias = 1023;

// The double 2^(exponent) * (significand / 2^mantissa_bits) for a normalized significand (its
// top bit at mantissa_bits), sign given; exponent within the double's normal range.
STLOAD_HOST_DEVICE constexpr std::uint64_t compose_double(std::uint64_t sign, int exponent,
                                                          std::uint64_t significand,
                                                          int mantissa_bits) {
  const std::uint64_t fraction = (significand << (52 - mantissa_bits)) & kF64MantissaMask;
  return sign | (static_cast<std::uint64_t>(exponent + kF64Bias) << 52U) | fraction;
}

// An IEEE-like format (top exponent = infinities and NaNs) decoded into a double's bits, exactly.
template <int ExponentBits, int MantissaBits>
STLOAD_HOST_DEVICE constexpr std::uint64_t ieee_to_double(std::uint64_t bits) {
  constexpr std::uint64_t kMantissaMask = (1ULL << MantissaBits) - 1;
  constexpr std::uint64_t kExponentMax = (1ULL << ExponentBits) - 1;
  constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
  const std::uint64_t sign = ((bits >> (ExponentBits + MantissaBits)) & 1U) << 63U;
  const std::uint64_t exponent = (bits >> MantissaBits) & kExponentMax;
  std::uint64_t mantissa = bits & kMantissaMask;
  if (exponent == kExponentMax) {
    // Infinity, or a NaN made quiet with its payload's top bits kept.
    if (mantissa == 0) return sign | kF64ExponentMask;
    return sign | kF64ExponentMask | (1ULL << 51U) | (mantissa << (52 - MantissaBits));
  }
  if (exponent == 0) {
    if (mantissa == 0) return sign;  // signed zero
    // A subnormal: normalize it; every one is a normal double.
    int e = 1 - kBias;
    while ((mantissa & (1ULL << MantissaBits)) == 0) {
      mantissa <<= 1U;
      --e;
    }
    return compose_double(sign, e, mantissa, MantissaBits);
  }
  return compose_double(sign, static_cast<int>(exponent) - kBias, mantissa | (1ULL << MantissaBits),
                        MantissaBits);
}

}  // namespace internal

/// The double's bits rounded to nearest-even into an IEEE-like format of `ExponentBits` and
/// `MantissaBits` (F32, F16, BF16), returned in the low bits.
template <int ExponentBits, int MantissaBits>
STLOAD_HOST_DEVICE constexpr std::uint64_t round_double_to(std::uint64_t bits) {
  using namespace internal;
  constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
  constexpr std::uint64_t kExponentMax = (1ULL << ExponentBits) - 1;
  constexpr std::uint64_t kInfinity = kExponentMax << MantissaBits;
  const std::uint64_t sign = (bits >> 63U) << (ExponentBits + MantissaBits);
  const std::uint64_t exponent = (bits & kF64ExponentMask) >> 52U;
  const std::uint64_t mantissa = bits & kF64MantissaMask;
  if (exponent == 0x7FF) {
    if (mantissa == 0) return sign | kInfinity;
    // Quiet NaN keeping the payload's top bits.
    return sign | kInfinity | (1ULL << (MantissaBits - 1)) | (mantissa >> (52 - MantissaBits));
  }
  if (exponent == 0 && mantissa == 0) return sign;
  // value = significand * 2^(e - 52), significand with its implicit bit (a double subnormal is
  // far below every target's range and rounds to zero below).
  const int e = exponent == 0 ? 1 - kF64Bias : static_cast<int>(exponent) - kF64Bias;
  const std::uint64_t significand = exponent == 0 ? mantissa : mantissa | (1ULL << 52U);
  // Bits to drop: 52 - MantissaBits for a normal result, more below the target's normal range.
  int shift = 52 - MantissaBits;
  if (e < 1 - kBias) shift += (1 - kBias) - e;
  if (shift > 54) return sign;  // below half the smallest subnormal: rounds to zero
  std::uint64_t rounded = significand >> shift;
  const std::uint64_t rest = significand & ((1ULL << shift) - 1);
  const std::uint64_t half = 1ULL << (shift - 1);
  if (rest > half || (rest == half && (rounded & 1U) != 0)) ++rounded;
  // Normal: the biased exponent above the implicit bit, so that a carry out of the mantissa
  // moves into the exponent; subnormal: the exponent field is 0 and a carry makes it normal.
  const std::uint64_t magnitude =
      e < 1 - kBias ? rounded
                    : (static_cast<std::uint64_t>(e + kBias - 1) << MantissaBits) + rounded;
  return sign | (magnitude >= kInfinity ? kInfinity : magnitude);
}

/// Exact decodings into a double's bits.
STLOAD_HOST_DEVICE constexpr std::uint64_t f32_to_double(std::uint32_t bits) {
  return internal::ieee_to_double<8, 23>(bits);
}
STLOAD_HOST_DEVICE constexpr std::uint64_t f16_to_double(std::uint16_t bits) {
  return internal::ieee_to_double<5, 10>(bits);
}
STLOAD_HOST_DEVICE constexpr std::uint64_t bf16_to_double(std::uint16_t bits) {
  return internal::ieee_to_double<8, 7>(bits);
}
STLOAD_HOST_DEVICE constexpr std::uint64_t f8_e5m2_to_double(std::uint8_t bits) {
  return internal::ieee_to_double<5, 2>(bits);
}
/// F8_E4M3 (fn): exponent 15 is an ordinary binade except S.1111.111, the only NaN.
STLOAD_HOST_DEVICE constexpr std::uint64_t f8_e4m3_to_double(std::uint8_t bits) {
  using namespace internal;
  const std::uint64_t sign = static_cast<std::uint64_t>(bits >> 7U) << 63U;
  const unsigned exponent = (bits >> 3U) & 0xFU;
  std::uint64_t mantissa = bits & 0x7U;
  if (exponent == 0xF && mantissa == 0x7) return sign | kF64ExponentMask | (1ULL << 51U);
  if (exponent == 0) {
    if (mantissa == 0) return sign;
    int e = 1 - 7;
    while ((mantissa & 0x8U) == 0) {
      mantissa <<= 1U;
      --e;
    }
    return compose_double(sign, e, mantissa, 3);
  }
  return compose_double(sign, static_cast<int>(exponent) - 7, mantissa | 0x8U, 3);
}

/// Roundings from a double's bits.
STLOAD_HOST_DEVICE constexpr std::uint32_t double_to_f32(std::uint64_t bits) {
  return static_cast<std::uint32_t>(round_double_to<8, 23>(bits));
}
STLOAD_HOST_DEVICE constexpr std::uint16_t double_to_f16(std::uint64_t bits) {
  return static_cast<std::uint16_t>(round_double_to<5, 10>(bits));
}
STLOAD_HOST_DEVICE constexpr std::uint16_t double_to_bf16(std::uint64_t bits) {
  return static_cast<std::uint16_t>(round_double_to<8, 7>(bits));
}

/// BF16 -> F32 without the trip through a double: the same bits (a NaN made quiet).
STLOAD_HOST_DEVICE constexpr std::uint32_t bf16_to_f32(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16U;
  return (bits & 0x7FFFU) > 0x7F80U ? wide | 0x00400000U : wide;
}

/// F32 -> BF16 without the trip through a double: round-to-nearest-even on the bits, which also
/// overflows to infinity and rounds subnormals right (both formats share the exponent range).
/// Both results are computed and one selected, so loops over it vectorize.
STLOAD_HOST_DEVICE constexpr std::uint16_t f32_to_bf16(std::uint32_t bits) {
  const std::uint32_t rounded = (bits + 0x7FFFU + ((bits >> 16U) & 1U)) >> 16U;
  const std::uint32_t quiet_nan = (bits >> 16U) | 0x40U;
  return static_cast<std::uint16_t>((bits & 0x7FFFFFFFU) > 0x7F800000U ? quiet_nan : rounded);
}

/// F16 -> F32 without the trip through a double: the exponent rebiased on the bits; subnormals
/// (exponent 0) normalized by one exact float subtraction; infinities and NaNs (exponent 31) get
/// the top exponent, a NaN made quiet. Selects instead of branches, so loops over it vectorize.
STLOAD_HOST_DEVICE inline std::uint32_t f16_to_f32(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000U) << 16U;
  const std::uint32_t shifted = static_cast<std::uint32_t>(half & 0x7FFFU) << 13U;
  const std::uint32_t exponent = shifted & 0x0F800000U;
  const std::uint32_t rebiased = shifted + ((127U - 15U) << 23U);
  // Top exponent: move it to 255, and quiet a NaN.
  const std::uint32_t special =
      (rebiased + ((128U - 16U) << 23U)) | ((shifted & 0x007FE000U) != 0 ? 0x00400000U : 0U);
  // Exponent 0: m * 2^-24 is (2^-14 + m * 2^-24) - 2^-14, both exact in a float.
  const float magic = 6.103515625e-05F;  // 2^-14, bits 0x38800000
  std::uint32_t subnormal_bits = rebiased + (1U << 23U);
  float subnormal = 0;
  std::memcpy(&subnormal, &subnormal_bits, 4);
  subnormal -= magic;
  std::memcpy(&subnormal_bits, &subnormal, 4);
  const std::uint32_t magnitude =
      exponent == 0x0F800000U ? special : (exponent == 0 ? subnormal_bits : rebiased);
  return sign | magnitude;
}

}  // namespace stload::convert

#pragma once
// The CPU's own half-precision conversions (x86-64: F16C's VCVTPS2PH/VCVTPH2PS on AVX2 vectors,
// or their AVX-512F forms), for the F16 pairs of convert_elements. They round to nearest even and
// keep subnormals, infinities and NaN payloads as the bit arithmetic of convert/float_bits.hpp
// does (tests/unit/test_float_convert.cpp checks every 16-bit input through convert_elements,
// which takes these where the CPU has them). VCVTPS2PH takes its rounding from the instruction,
// not from MXCSR, and produces subnormal results whatever MXCSR's flush-to-zero says.
// BF16 -> F16 goes through F32 (a BF16 is an F32's high half): one rounding, as it must be.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stload::detail {

/// Converts the first `count / width * width` elements of `in` to `out` (no alignment needed, the
/// spans may not overlap) and returns how many that was; the caller converts the rest.
using HalfLoop = std::uint64_t (*)(const std::byte* in, std::byte* out, std::uint64_t count);

struct HalfLoops {
  const char* name = "none";  ///< the instruction set, for tests and messages
  HalfLoop bf16_to_f16 = nullptr;
  HalfLoop f32_to_f16 = nullptr;
  HalfLoop f16_to_f32 = nullptr;
};

/// The loops of the widest vectors this CPU (and OS) runs: AVX-512F, else AVX2 with F16C; all
/// null where it has neither and on other architectures. Chosen once, thread-safely, by CPUID at
/// the first call (not by an ifunc, so ThreadSanitizer builds take them too).
[[nodiscard]] const HalfLoops& half_loops() noexcept;

/// Every set of loops this CPU runs, widest first (half_loops() is the first): tests check each,
/// not only the one this machine picks.
[[nodiscard]] std::vector<HalfLoops> runnable_half_loops();

}  // namespace stload::detail

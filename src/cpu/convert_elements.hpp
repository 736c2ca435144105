#pragma once
// Element conversion on the CPU: what the CPU engine runs while a chunk lands when the plan asks
// for another dtype than the file stores. The element rules live in convert/float_bits.hpp, shared
// with the CUDA kernel; this is their loop over a span.

#include <cstddef>
#include <cstdint>

#include "stload/dtype.hpp"
#include "stload/plan.hpp"

namespace stload::detail {

/// Whether a tensor stored as `from` may be loaded as `to`: BF16, F16, F32 and F64 to each other,
/// F8_E4M3 and F8_E5M2 to BF16, F16 and F32, and any dtype to itself. Integer, bool and sub-byte
/// dtypes are never converted.
[[nodiscard]] bool convertible(Dtype from, Dtype to) noexcept;

/// Which code convert_elements may run. Best: for BF16 -> F16, F32 -> F16 and F16 -> F32, the
/// CPU's half-precision instructions where it has them (cpu/half_instructions.hpp), the portable
/// bit arithmetic for the rest. Portable: the bit arithmetic alone. Both give the same bits;
/// tests check each path on its own.
enum class ConvertPath : std::uint8_t { Best, Portable };

/// Converts `count` little-endian elements of `from` at `in` into `to` at `out` (the spans may
/// not overlap; no alignment needed). @throws Error InvalidArgument when !convertible(from, to)
void convert_elements(Dtype from, Dtype to, const std::byte* in, std::byte* out,
                      std::uint64_t count, ConvertPath path = ConvertPath::Best);

/// The checks every converting copy step makes of a Convert chunk's piece before writing (the CPU
/// engine's convert_async, the pipeline's direct conversion): the piece holds whole `from`
/// elements and lands as `to` inside an arena of `arena_bytes`.
/// @throws Error InvalidArgument saying which
void expect_piece_lands(const Piece& piece, Dtype from, Dtype to, std::uint64_t arena_bytes);

}  // namespace stload::detail

#include "cpu/convert_elements.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "convert/float_bits.hpp"
#include "cpu/half_instructions.hpp"
#include "detail/check.hpp"

// How each pair runs (every path equals the general decode-exactly-then-round-once of
// convert/float_bits.hpp bit for bit, NaN payloads included; tests/unit/test_float_convert.cpp
// proves it exhaustively for 8- and 16-bit sources, at every rounding boundary plus random inputs
// for wider ones):
//  - BF16 -> F16, F32 -> F16, F16 -> F32 on x86-64 with F16C or AVX-512F: the CPU's conversion
//    instructions (cpu/half_instructions.cpp), 8 or 16 elements at a time, the rest below; the
//    bit arithmetic of BF16 -> F16 ran at under half of memcpy's rate even in AVX-512 vectors;
//  - BF16 -> F32, BF16 -> F16, F16 -> F32, F16 -> BF16, F32 -> BF16, F32 -> F16: branch-free
//    bit arithmetic in loops the compiler vectorizes (this file is built with -O3
//    -fno-trapping-math: GCC's -O2 cost model refuses loops that need an alias check or an
//    epilogue, which every loop over byte spans does, and with trapping math it will not turn
//    the selects around a float addition into vector blends);
//  - the other 8- and 16-bit sources: a lookup table per pair (256 or 65536 entries), built once,
//    lazily and thread-safely, from the general function itself, so equal to it by construction;
//  - F32 -> F64 and F64 -> anything: the general function, element by element.
namespace stload::detail {
namespace {

using namespace stload::convert;

// Element loads and stores through memcpy: the spans are byte-addressed (a tensor may start at any
// offset of a chunk), and compilers turn these into plain (vector) moves.
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
std::uint64_t decode_f64(std::uint64_t bits) {
  return bits;
}
std::uint64_t decode_f32(std::uint64_t bits) {
  return f32_to_double(static_cast<std::uint32_t>(bits));
}
std::uint64_t decode_f16(std::uint64_t bits) {
  return f16_to_double(static_cast<std::uint16_t>(bits));
}
std::uint64_t decode_bf16(std::uint64_t bits) {
  return bf16_to_double(static_cast<std::uint16_t>(bits));
}
std::uint64_t decode_e4m3(std::uint64_t bits) {
  return f8_e4m3_to_double(static_cast<std::uint8_t>(bits));
}
std::uint64_t decode_e5m2(std::uint64_t bits) {
  return f8_e5m2_to_double(static_cast<std::uint8_t>(bits));
}

// Roundings from a double's bits, one per target dtype.
std::uint64_t encode_f64(std::uint64_t bits) {
  return bits;
}
std::uint64_t encode_f32(std::uint64_t bits) {
  return double_to_f32(bits);
}
std::uint64_t encode_f16(std::uint64_t bits) {
  return double_to_f16(bits);
}
std::uint64_t encode_bf16(std::uint64_t bits) {
  return double_to_bf16(bits);
}

using Code = std::uint64_t (*)(std::uint64_t);

// The general loop: decode exactly, round once. Templated on the element types and the two
// functions so each pair compiles to its own loop without indirect calls.
template <typename In, typename Out, Code decode, Code encode>
void general_loop(const std::byte* in, std::byte* out, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i)
    store(out + i * sizeof(Out), static_cast<Out>(encode(decode(load<In>(in + i * sizeof(In))))));
}

// One table per (source, target) pair: entry x is the general function of x. A function-local
// static: built on first use, once, and thread-safely (copy workers convert concurrently).
template <typename In, typename Out, Code decode, Code encode>
const Out* lookup_table() {
  static_assert(sizeof(In) <= 2, "tables are for 8- and 16-bit sources");
  constexpr std::size_t kEntries = std::size_t{1} << (8 * sizeof(In));
  static const std::unique_ptr<const std::array<Out, kEntries>> table = [] {
    auto built = std::make_unique<std::array<Out, kEntries>>();
    for (std::size_t x = 0; x < kEntries; ++x) (*built)[x] = static_cast<Out>(encode(decode(x)));
    return std::unique_ptr<const std::array<Out, kEntries>>(std::move(built));
  }();
  return table->data();
}

template <typename In, typename Out, Code decode, Code encode>
void table_loop(const std::byte* in, std::byte* out, std::uint64_t count) {
  const Out* table = lookup_table<In, Out, decode, encode>();
  for (std::uint64_t i = 0; i < count; ++i)
    store(out + i * sizeof(Out), table[load<In>(in + i * sizeof(In))]);
}

// `chosen` when `condition`, else `other`, as mask arithmetic: GCC turns some ternaries into
// branches, which neither vectorize nor predict on real data.
std::uint32_t select(bool condition, std::uint32_t chosen, std::uint32_t other) {
  const std::uint32_t mask = 0U - static_cast<std::uint32_t>(condition);
  return other ^ ((chosen ^ other) & mask);
}

// The F16 bits of an F32 magnitude (sign cleared) given its normal-range result `normal`: the
// part of the F32 -> F16 narrowing both sources share. Subnormal results (below F16's normal
// range, 2^-14, bits 0x38800000) are m * 2^-24 rounded once in the hardware's float addition
// (round-to-nearest-even, the default mode): adding 0.5 puts the F16 subnormal step 2^-24 at the
// last place of the sum. Below 2^-25 (0x33000000) everything rounds to zero: those become zero
// before the addition, so that no F32 subnormal reaches it (x86 takes a slow microcode assist
// for each one). 65520 and above (0x47800000 is 2^16; the normal path carries into infinity
// from 65520) and infinities give infinity; a NaN stays a quiet NaN with its payload's top bits.
std::uint32_t f16_of_magnitude(std::uint32_t magnitude, std::uint32_t normal) {
  const std::uint32_t addend = select(magnitude < 0x33000000U, 0U, magnitude);
  float small = 0;
  std::memcpy(&small, &addend, 4);
  small += 0.5F;
  std::uint32_t small_bits = 0;
  std::memcpy(&small_bits, &small, 4);
  const std::uint32_t subnormal = small_bits - 0x3F000000U;
  const std::uint32_t nan = 0x7E00U | ((magnitude >> 13U) & 0x03FFU);
  std::uint32_t result = select(magnitude < 0x38800000U, subnormal, normal);
  result = select(magnitude >= 0x47800000U, 0x7C00U, result);
  return select(magnitude > 0x7F800000U, nan, result);
}

// BF16 -> F16 on the bits, selects only, so that it vectorizes. A BF16 is an F32 with its low 16
// bits zero, so this is F32 -> F16 where the normal range never rounds (7 mantissa bits fit in
// 10), and every BF16 below 2^16 is at most 65280 (no overflow by rounding): the rebiased
// exponent alone is the normal result.
std::uint16_t bf16_to_f16(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits) & 0x8000U;
  const std::uint32_t magnitude = (static_cast<std::uint32_t>(bits) & 0x7FFFU) << 16U;
  const std::uint32_t normal = (magnitude >> 13U) - ((127U - 15U) << 10U);
  return static_cast<std::uint16_t>(sign | f16_of_magnitude(magnitude, normal));
}

// F32 -> F16 on the bits, selects only (after F. Giesen's float_to_half_fast3_rtne): normal
// results round to nearest-even by adding 0xFFF plus the kept mantissa's lowest bit before the
// shift (a carry moves into the exponent, up to infinity from 65520 on).
std::uint16_t f32_to_f16(std::uint32_t bits) {
  const std::uint32_t sign = (bits >> 16U) & 0x8000U;
  const std::uint32_t magnitude = bits & 0x7FFFFFFFU;
  const std::uint32_t odd = (magnitude >> 13U) & 1U;
  const std::uint32_t normal = (magnitude - ((127U - 15U) << 23U) + 0xFFFU + odd) >> 13U;
  return static_cast<std::uint16_t>(sign | f16_of_magnitude(magnitude, normal));
}

// The bit-arithmetic loops: one element function applied over the span. On x86-64 each is also
// compiled for AVX2 and for AVX-512 (x86-64-v4) and picked at load time by the CPU it runs on
// (an ifunc): the baseline's SSE2 vectors are 4 lanes and lack unsigned compares and blends,
// which leaves BF16 -> F16 compute-bound at about half of memcpy's rate.
// Not under ThreadSanitizer: the ifunc resolvers run while the executable is relocated, before
// the TSan runtime is up, and their instrumented code crashes there (a static link segfaults at
// start); the TSan build keeps the baseline loops, which compute the same bits.
#if defined(__SANITIZE_THREAD__)
#define STLOAD_NO_VECTOR_CLONES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STLOAD_NO_VECTOR_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && \
    !defined(STLOAD_NO_VECTOR_CLONES)
#define STLOAD_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define STLOAD_VECTOR_CLONES
#endif

template <typename In, typename Out, Out (*element)(In)>
inline void bits_loop_body(const std::byte* in, std::byte* out, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i)
    store(out + i * sizeof(Out), element(load<In>(in + i * sizeof(In))));
}

std::uint32_t bf16_widen(std::uint16_t bits) {
  return bf16_to_f32(bits);
}
std::uint32_t f16_widen(std::uint16_t bits) {
  return f16_to_f32(bits);
}
std::uint16_t f32_narrow_bf16(std::uint32_t bits) {
  return f32_to_bf16(bits);
}
// F16 -> F32 is exact, so this rounds once, as the general function does.
std::uint16_t f16_to_bf16(std::uint16_t bits) {
  return f32_to_bf16(f16_to_f32(bits));
}

// One function per pair (target_clones takes no templates).
STLOAD_VECTOR_CLONES void loop_bf16_f32(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint16_t, std::uint32_t, bf16_widen>(in, out, count);
}
STLOAD_VECTOR_CLONES void loop_bf16_f16(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint16_t, std::uint16_t, bf16_to_f16>(in, out, count);
}
STLOAD_VECTOR_CLONES void loop_f16_f32(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint16_t, std::uint32_t, f16_widen>(in, out, count);
}
STLOAD_VECTOR_CLONES void loop_f16_bf16(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint16_t, std::uint16_t, f16_to_bf16>(in, out, count);
}
STLOAD_VECTOR_CLONES void loop_f32_f16(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint32_t, std::uint16_t, f32_to_f16>(in, out, count);
}
STLOAD_VECTOR_CLONES void loop_f32_bf16(const std::byte* in, std::byte* out, std::uint64_t count) {
  bits_loop_body<std::uint32_t, std::uint16_t, f32_narrow_bf16>(in, out, count);
}

using Loop = void (*)(const std::byte*, std::byte*, std::uint64_t);

// The loop for a pair, or null when the pair is not converted.
Loop loop_for(Dtype from, Dtype to) {
  using D = Dtype;
  using u8 = std::uint8_t;
  using u16 = std::uint16_t;
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;
  switch (from) {
    case D::BF16:
      if (to == D::F32) return loop_bf16_f32;
      if (to == D::F16) return loop_bf16_f16;
      if (to == D::F64) return table_loop<u16, u64, decode_bf16, encode_f64>;
      return nullptr;
    case D::F16:
      if (to == D::F32) return loop_f16_f32;
      if (to == D::BF16) return loop_f16_bf16;
      if (to == D::F64) return table_loop<u16, u64, decode_f16, encode_f64>;
      return nullptr;
    case D::F32:
      if (to == D::BF16) return loop_f32_bf16;
      if (to == D::F16) return loop_f32_f16;
      if (to == D::F64) return general_loop<u32, u64, decode_f32, encode_f64>;
      return nullptr;
    case D::F64:
      if (to == D::F32) return general_loop<u64, u32, decode_f64, encode_f32>;
      if (to == D::F16) return general_loop<u64, u16, decode_f64, encode_f16>;
      if (to == D::BF16) return general_loop<u64, u16, decode_f64, encode_bf16>;
      return nullptr;
    case D::F8_E4M3:
      if (to == D::F32) return table_loop<u8, u32, decode_e4m3, encode_f32>;
      if (to == D::F16) return table_loop<u8, u16, decode_e4m3, encode_f16>;
      if (to == D::BF16) return table_loop<u8, u16, decode_e4m3, encode_bf16>;
      return nullptr;
    case D::F8_E5M2:
      if (to == D::F32) return table_loop<u8, u32, decode_e5m2, encode_f32>;
      if (to == D::F16) return table_loop<u8, u16, decode_e5m2, encode_f16>;
      if (to == D::BF16) return table_loop<u8, u16, decode_e5m2, encode_bf16>;
      return nullptr;
    default:
      return nullptr;
  }
}

// The CPU's own loop for a pair, or null (no such instructions, or not an F16 pair they cover).
HalfLoop half_loop_for(Dtype from, Dtype to) {
  const HalfLoops& loops = half_loops();
  if (to == Dtype::F16 && from == Dtype::BF16) return loops.bf16_to_f16;
  if (to == Dtype::F16 && from == Dtype::F32) return loops.f32_to_f16;
  if (to == Dtype::F32 && from == Dtype::F16) return loops.f16_to_f32;
  return nullptr;
}

}  // namespace

void expect_piece_lands(const Piece& piece, Dtype from, Dtype to, std::uint64_t arena_bytes) {
  const std::uint64_t in = bit_size(from) / 8;
  const std::uint64_t out = bit_size(to) / 8;
  STLOAD_EXPECT(in > 0 && piece.bytes % in == 0, ErrorCode::InvalidArgument,
                "conversion of " + std::to_string(piece.bytes) + " bytes splits an element of " +
                    std::string(to_string(from)));
  const std::uint64_t landing = piece.bytes / in * out;
  STLOAD_EXPECT(
      piece.destination_offset <= arena_bytes && landing <= arena_bytes - piece.destination_offset,
      ErrorCode::InvalidArgument,
      "conversion of " + std::to_string(piece.bytes) + " bytes to " +
          std::to_string(piece.destination_offset) + " overruns an arena of " +
          std::to_string(arena_bytes));
}

bool convertible(Dtype from, Dtype to) noexcept {
  return from == to || loop_for(from, to) != nullptr;
}

void convert_elements(Dtype from, Dtype to, const std::byte* in, std::byte* out,
                      std::uint64_t count, ConvertPath path) {
  if (from == to) {
    std::memcpy(out, in, (count * bit_size(from) + 7) / 8);
    return;
  }
  const Loop loop = loop_for(from, to);
  STLOAD_EXPECT(loop != nullptr, ErrorCode::InvalidArgument,
                std::string("no conversion from ") + std::string(to_string(from)) + " to " +
                    std::string(to_string(to)));
  if (path == ConvertPath::Best) {
    if (const HalfLoop fast = half_loop_for(from, to); fast != nullptr) {
      const std::uint64_t done = fast(in, out, count);
      in += done * (bit_size(from) / 8);
      out += done * (bit_size(to) / 8);
      count -= done;
    }
  }
  loop(in, out, count);
}

}  // namespace stload::detail

// The element conversions of convert/float_bits.hpp against independent references: the
// compiler's own _Float16 conversions (libgcc's round-to-nearest-even routines), the hardware's
// double -> float cast, and closed-form decodings of the F8 formats. 8- and 16-bit inputs are
// checked exhaustively; 32- and 64-bit inputs over every pattern of their top bits with the low
// bits at and around each rounding boundary. convert_elements (the CPU loops: bit arithmetic and
// lookup tables) equals the general decode-then-round function of each pair bit for bit. numpy and
// ml_dtypes check the same functions from Python (tests/crosscheck/convert_reference.py).

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "convert/float_bits.hpp"
#include "cpu/convert_elements.hpp"
#include "cpu/half_instructions.hpp"
#include "stload/error.hpp"
#include "support/throws_error.hpp"

namespace stload {
namespace {

using namespace stload::convert;

double as_double(std::uint64_t bits) {
  return std::bit_cast<double>(bits);
}
float as_float(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}

// Equal bits, or both NaN: NaN payloads are not promised (float_bits.hpp).
::testing::AssertionResult same_value(std::uint64_t got, std::uint64_t want, bool got_nan,
                                      bool want_nan, std::uint64_t input) {
  if (got_nan && want_nan) return ::testing::AssertionSuccess();
  if (got == want && got_nan == want_nan) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << std::hex << "input 0x" << input << ": got 0x" << got << ", want 0x" << want;
}

// Low bits that sit at and around the rounding boundaries of dropping `dropped` bits: zero, one,
// just below half, half (a tie), just above half, all ones.
std::vector<std::uint64_t> boundary_patterns(int dropped) {
  const std::uint64_t half = 1ULL << (dropped - 1);
  return {0, 1, half - 1, half, half + 1, (1ULL << dropped) - 1};
}

#if defined(__FLT16_MAX__)
std::uint16_t compiler_f16(float value) {
  return std::bit_cast<std::uint16_t>(static_cast<_Float16>(value));
}
std::uint16_t compiler_f16(double value) {
  return std::bit_cast<std::uint16_t>(static_cast<_Float16>(value));
}

TEST(FloatConvert, every_f16_widens_to_f32_and_f64_as_the_compiler_does) {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const float want = static_cast<float>(std::bit_cast<_Float16>(half));
    const std::uint64_t wide = f16_to_double(half);
    ASSERT_TRUE(same_value(double_to_f32(wide), std::bit_cast<std::uint32_t>(want),
                           std::isnan(as_double(wide)), std::isnan(want), h));
    ASSERT_TRUE(same_value(wide, std::bit_cast<std::uint64_t>(static_cast<double>(want)),
                           std::isnan(as_double(wide)), std::isnan(want), h));
  }
}

TEST(FloatConvert, every_f16_widens_on_the_bits_as_through_a_double) {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    ASSERT_EQ(f16_to_f32(half), double_to_f32(f16_to_double(half))) << std::hex << h;
    ASSERT_EQ(f32_to_bf16(f16_to_f32(half)), double_to_bf16(f16_to_double(half))) << std::hex << h;
  }
}

TEST(FloatConvert, f32_rounds_to_f16_as_the_compiler_does_at_every_boundary) {
  // Every sign and exponent and the mantissa's top 10 bits, with the 13 dropped bits at each
  // boundary: 2^19 x 6 inputs, every tie among them.
  for (std::uint32_t top = 0; top < (1U << 19U); ++top) {
    for (const std::uint64_t low : boundary_patterns(13)) {
      const std::uint32_t bits = (top << 13U) | static_cast<std::uint32_t>(low);
      const std::uint16_t got = double_to_f16(f32_to_double(bits));
      const std::uint16_t want = compiler_f16(as_float(bits));
      ASSERT_TRUE(
          same_value(got, want, (got & 0x7FFFU) > 0x7C00U, (want & 0x7FFFU) > 0x7C00U, bits));
    }
  }
}

TEST(FloatConvert, f64_rounds_to_f16_once_as_the_compiler_does) {
  // Doubles whose 42 dropped bits sit at each boundary, over every f16-relevant exponent; a
  // double rounding through f32 would get the ties wrong.
  for (std::uint64_t exponent = 1023 - 30; exponent <= 1023 + 17; ++exponent) {
    for (std::uint64_t mantissa10 = 0; mantissa10 < 1024; ++mantissa10) {
      for (const std::uint64_t low : boundary_patterns(42)) {
        for (const std::uint64_t sign : {0ULL, 1ULL << 63U}) {
          const std::uint64_t bits = sign | (exponent << 52U) | (mantissa10 << 42U) | low;
          const std::uint16_t want = compiler_f16(as_double(bits));
          ASSERT_TRUE(same_value(double_to_f16(bits), want, false, false, bits));
        }
      }
    }
  }
}
#else
TEST(FloatConvert, every_f16_widens_to_f32_and_f64_as_the_compiler_does) {
  GTEST_SKIP() << "this compiler has no _Float16 to compare with";
}
#endif

TEST(FloatConvert, f64_rounds_to_f32_as_the_hardware_does) {
  std::mt19937_64 random(7);
  for (std::uint64_t exponent = 1023 - 160; exponent <= 1023 + 130; ++exponent) {
    for (const std::uint64_t low : boundary_patterns(29)) {
      for (int i = 0; i < 64; ++i) {
        const std::uint64_t mantissa23 = random() & ((1ULL << 23U) - 1);
        const std::uint64_t bits = (exponent << 52U) | (mantissa23 << 29U) | low;
        const float want = static_cast<float>(as_double(bits));
        ASSERT_TRUE(same_value(double_to_f32(bits), std::bit_cast<std::uint32_t>(want), false,
                               false, bits));
      }
    }
  }
}

TEST(FloatConvert, every_bf16_widens_by_appending_zero_bits) {
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bf = static_cast<std::uint16_t>(b);
    const std::uint32_t want = b << 16U;
    const bool nan = std::isnan(as_float(want));
    ASSERT_TRUE(same_value(bf16_to_f32(bf), want, std::isnan(as_float(bf16_to_f32(bf))), nan, b));
    const std::uint64_t wide = bf16_to_double(bf);
    ASSERT_TRUE(same_value(double_to_f32(wide), want, std::isnan(as_double(wide)), nan, b));
  }
}

TEST(FloatConvert, f32_to_bf16_on_the_bits_agrees_with_the_general_rounding) {
  for (std::uint32_t top = 0; top < (1U << 16U); ++top) {
    for (const std::uint64_t low : boundary_patterns(16)) {
      const std::uint32_t bits = (top << 16U) | static_cast<std::uint32_t>(low);
      const std::uint16_t general = double_to_bf16(f32_to_double(bits));
      ASSERT_EQ(f32_to_bf16(bits), general) << std::hex << bits;
    }
  }
  // Ties go to even; the largest finite rounds up to infinity past the midpoint.
  EXPECT_EQ(f32_to_bf16(0x3F808000U), 0x3F80U);
  EXPECT_EQ(f32_to_bf16(0x3F818000U), 0x3F82U);
  EXPECT_EQ(f32_to_bf16(0x7F7FFFFFU), 0x7F80U);
  EXPECT_EQ(f32_to_bf16(0x00008000U), 0x0000U);  // half the smallest bf16 subnormal: to even
  EXPECT_EQ(f32_to_bf16(0x00018000U), 0x0002U);
}

TEST(FloatConvert, narrow_formats_survive_a_round_trip_through_double) {
  for (std::uint32_t v = 0; v <= 0xFFFF; ++v) {
    const auto bits = static_cast<std::uint16_t>(v);
    const bool f16_nan = (bits & 0x7FFFU) > 0x7C00U;
    const bool bf16_nan = (bits & 0x7FFFU) > 0x7F80U;
    if (f16_nan) {
      ASSERT_TRUE(std::isnan(as_double(f16_to_double(bits)))) << v;
    } else {
      ASSERT_EQ(double_to_f16(f16_to_double(bits)), bits) << v;
    }
    if (!bf16_nan) {
      ASSERT_EQ(double_to_bf16(bf16_to_double(bits)), bits) << v;
    }
  }
}

// Closed-form decodings: (-1)^s * 2^(e - bias) * (1 + m / 2^M), subnormals 2^(1 - bias) * m / 2^M.
double closed_form(std::uint8_t bits, int mantissa_bits, int bias) {
  const int exponent = (bits >> mantissa_bits) & ((1 << (7 - mantissa_bits)) - 1);
  const int mantissa = bits & ((1 << mantissa_bits) - 1);
  const double magnitude =
      exponent == 0 ? std::ldexp(mantissa, 1 - bias - mantissa_bits)
                    : std::ldexp((1 << mantissa_bits) + mantissa, exponent - bias - mantissa_bits);
  return (bits & 0x80U) != 0 ? -magnitude : magnitude;
}

TEST(FloatConvert, every_f8_e4m3_decodes_to_its_closed_form_with_one_nan_per_sign) {
  int nans = 0;
  for (std::uint32_t v = 0; v <= 0xFF; ++v) {
    const auto bits = static_cast<std::uint8_t>(v);
    const double got = as_double(f8_e4m3_to_double(bits));
    if ((bits & 0x7FU) == 0x7FU) {
      EXPECT_TRUE(std::isnan(got)) << v;
      ++nans;
      continue;
    }
    EXPECT_EQ(got, closed_form(bits, 3, 7)) << v;
    EXPECT_EQ(std::signbit(got), (bits & 0x80U) != 0) << v;  // -0 stays -0
  }
  EXPECT_EQ(nans, 2);
  EXPECT_EQ(as_double(f8_e4m3_to_double(0x7E)), 448.0);  // the largest: no infinity
  EXPECT_EQ(as_double(f8_e4m3_to_double(0x01)), std::ldexp(1.0, -9));
}

TEST(FloatConvert, every_f8_e5m2_decodes_to_its_closed_form_with_ieee_specials) {
  for (std::uint32_t v = 0; v <= 0xFF; ++v) {
    const auto bits = static_cast<std::uint8_t>(v);
    const double got = as_double(f8_e5m2_to_double(bits));
    if ((bits & 0x7CU) == 0x7CU) {
      if ((bits & 0x3U) == 0) {
        EXPECT_TRUE(std::isinf(got) && std::signbit(got) == ((bits & 0x80U) != 0)) << v;
      } else {
        EXPECT_TRUE(std::isnan(got)) << v;
      }
      continue;
    }
    EXPECT_EQ(got, closed_form(bits, 2, 15)) << v;
  }
  EXPECT_EQ(as_double(f8_e5m2_to_double(0x7B)), 57344.0);
}

TEST(FloatConvert, f8_values_are_exact_in_every_target) {
  for (std::uint32_t v = 0; v <= 0xFF; ++v) {
    for (const auto decoded : {f8_e4m3_to_double(static_cast<std::uint8_t>(v)),
                               f8_e5m2_to_double(static_cast<std::uint8_t>(v))}) {
      if (std::isnan(as_double(decoded))) continue;
      EXPECT_EQ(f16_to_double(double_to_f16(decoded)), decoded) << v;
      EXPECT_EQ(bf16_to_double(double_to_bf16(decoded)), decoded) << v;
      EXPECT_EQ(f32_to_double(double_to_f32(decoded)), decoded) << v;
    }
  }
}

TEST(FloatConvert, overflow_becomes_infinity_and_underflow_signed_zero) {
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(65520.0)), 0x7C00U);  // rounds past max
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(65519.0)), 0x7BFFU);
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(-1e300)), 0xFC00U);
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(-1e-300)), 0x8000U);
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(std::ldexp(1.0, -25))), 0x0000U);  // tie
  EXPECT_EQ(double_to_f16(std::bit_cast<std::uint64_t>(std::ldexp(1.5, -25))), 0x0001U);
  EXPECT_EQ(double_to_f32(std::bit_cast<std::uint64_t>(1e300)), 0x7F800000U);
  EXPECT_EQ(double_to_f32(std::bit_cast<std::uint64_t>(4.9e-324)), 0x00000000U);  // a subnormal
}

template <typename Bits>
std::vector<std::byte> bytes_of(const std::vector<Bits>& values) {
  std::vector<std::byte> out(values.size() * sizeof(Bits));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

TEST(ConvertElements, a_span_converts_element_by_element_from_any_byte_offset) {
  std::vector<std::uint16_t> bf16(1000);
  for (std::size_t i = 0; i < bf16.size(); ++i) bf16[i] = static_cast<std::uint16_t>(i * 65 + 3);
  const auto in = bytes_of(bf16);
  // Unaligned input and output: tensors start anywhere in a chunk.
  std::vector<std::byte> shifted_in(in.size() + 1);
  std::memcpy(shifted_in.data() + 1, in.data(), in.size());
  std::vector<std::byte> out(bf16.size() * 2 + 1);
  detail::convert_elements(Dtype::BF16, Dtype::F16, shifted_in.data() + 1, out.data() + 1,
                           bf16.size());
  for (std::size_t i = 0; i < bf16.size(); ++i) {
    std::uint16_t got = 0;
    std::memcpy(&got, out.data() + 1 + 2 * i, 2);
    ASSERT_EQ(got, double_to_f16(bf16_to_double(bf16[i]))) << i;
  }
  std::vector<std::byte> wide(bf16.size() * 4);
  detail::convert_elements(Dtype::BF16, Dtype::F32, in.data(), wide.data(), bf16.size());
  std::vector<std::byte> back(in.size());
  detail::convert_elements(Dtype::F32, Dtype::BF16, wide.data(), back.data(), bf16.size());
  for (std::size_t i = 0; i < bf16.size(); ++i) {
    std::uint16_t got = 0;
    std::memcpy(&got, back.data() + 2 * i, 2);
    // Exact, but for signalling NaNs, which come back quiet.
    const bool nan = (bf16[i] & 0x7FFFU) > 0x7F80U;
    ASSERT_EQ(got, nan ? bf16[i] | 0x40U : bf16[i]) << "BF16 -> F32 -> BF16 at " << i;
  }
}

// The general function of a pair, composed here from float_bits.hpp (decode exactly, round
// once): what every loop of convert_elements (bit arithmetic, tables) must equal, bit for bit.
std::uint64_t general(Dtype from, Dtype to, std::uint64_t bits) {
  std::uint64_t wide = 0;
  switch (from) {
    case Dtype::F64:
      wide = bits;
      break;
    case Dtype::F32:
      wide = f32_to_double(static_cast<std::uint32_t>(bits));
      break;
    case Dtype::F16:
      wide = f16_to_double(static_cast<std::uint16_t>(bits));
      break;
    case Dtype::BF16:
      wide = bf16_to_double(static_cast<std::uint16_t>(bits));
      break;
    case Dtype::F8_E4M3:
      wide = f8_e4m3_to_double(static_cast<std::uint8_t>(bits));
      break;
    case Dtype::F8_E5M2:
      wide = f8_e5m2_to_double(static_cast<std::uint8_t>(bits));
      break;
    default:
      ADD_FAILURE() << "no decoding";
      return 0;
  }
  switch (to) {
    case Dtype::F64:
      return wide;
    case Dtype::F32:
      return double_to_f32(wide);
    case Dtype::F16:
      return double_to_f16(wide);
    case Dtype::BF16:
      return double_to_bf16(wide);
    default:
      ADD_FAILURE() << "no rounding";
      return 0;
  }
}

// `inputs` (each in the low bytes of a uint64) converted by convert_elements in one call, from an
// odd byte offset into an odd one, and compared with `general` element by element; on each path
// (the CPU's half-precision instructions where it has them, and the portable bit arithmetic).
void expect_path_equals_general(Dtype from, Dtype to, const std::vector<std::uint64_t>& inputs,
                                detail::ConvertPath path) {
  const std::size_t in_size = bit_size(from) / 8;
  const std::size_t out_size = bit_size(to) / 8;
  std::vector<std::byte> in(inputs.size() * in_size + 1);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    std::memcpy(in.data() + 1 + i * in_size, &inputs[i], in_size);  // little-endian host
  std::vector<std::byte> out(inputs.size() * out_size + 1);
  detail::convert_elements(from, to, in.data() + 1, out.data() + 1, inputs.size(), path);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::uint64_t got = 0;
    std::memcpy(&got, out.data() + 1 + i * out_size, out_size);
    ASSERT_EQ(got, general(from, to, inputs[i]))
        << std::hex << to_string(from) << " -> " << to_string(to) << " of 0x" << inputs[i]
        << (path == detail::ConvertPath::Portable ? " (portable path)" : " (best path)");
  }
}
void expect_loop_equals_general(Dtype from, Dtype to, const std::vector<std::uint64_t>& inputs) {
  expect_path_equals_general(from, to, inputs, detail::ConvertPath::Best);
  if (::testing::Test::HasFatalFailure()) return;
  expect_path_equals_general(from, to, inputs, detail::ConvertPath::Portable);
}

struct Pair {
  Dtype from;
  Dtype to;
};
const Pair kPairs[] = {
    {Dtype::BF16, Dtype::F32},    {Dtype::BF16, Dtype::F16},    {Dtype::BF16, Dtype::F64},
    {Dtype::F16, Dtype::F32},     {Dtype::F16, Dtype::BF16},    {Dtype::F16, Dtype::F64},
    {Dtype::F32, Dtype::BF16},    {Dtype::F32, Dtype::F16},     {Dtype::F32, Dtype::F64},
    {Dtype::F64, Dtype::F32},     {Dtype::F64, Dtype::F16},     {Dtype::F64, Dtype::BF16},
    {Dtype::F8_E4M3, Dtype::F32}, {Dtype::F8_E4M3, Dtype::F16}, {Dtype::F8_E4M3, Dtype::BF16},
    {Dtype::F8_E5M2, Dtype::F32}, {Dtype::F8_E5M2, Dtype::F16}, {Dtype::F8_E5M2, Dtype::BF16}};

TEST(ConvertElements, every_8_and_16_bit_input_of_every_pair_equals_the_general_function) {
  for (const Pair& pair : kPairs) {
    const unsigned bits = bit_size(pair.from);
    if (bits > 16) continue;
    std::vector<std::uint64_t> inputs(std::size_t{1} << bits);
    for (std::size_t x = 0; x < inputs.size(); ++x) inputs[x] = x;
    // Twice: the second call finds a lookup table already built.
    for (int pass = 0; pass < 2; ++pass) expect_loop_equals_general(pair.from, pair.to, inputs);
  }
}

TEST(ConvertElements, every_length_and_offset_around_the_vector_widths_converts_each_element) {
  // Lengths 0..70 from each of 4 starting elements: vector bodies, scalar epilogues, alias checks.
  std::mt19937_64 random(11);
  std::vector<std::uint64_t> pool(80);
  for (std::uint64_t& x : pool) x = random();
  for (const Pair& pair : kPairs) {
    const std::uint64_t mask =
        bit_size(pair.from) == 64 ? ~0ULL : (1ULL << bit_size(pair.from)) - 1;
    for (std::size_t start = 0; start < 4; ++start) {
      for (std::size_t length = 0; length <= 70; ++length) {
        std::vector<std::uint64_t> inputs;
        for (std::size_t i = 0; i < length; ++i) inputs.push_back(pool[start + i] & mask);
        expect_loop_equals_general(pair.from, pair.to, inputs);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

// Each instruction set this CPU runs (not only the one half_loops() picks): every BF16 and F16
// input, and F32 inputs at every F16 rounding boundary, equal the general function; the loops
// convert a whole number of vectors and leave the rest to the caller.
TEST(HalfInstructions, every_runnable_instruction_set_equals_the_general_function) {
  const std::vector<detail::HalfLoops> sets = detail::runnable_half_loops();
  if (sets.empty()) GTEST_SKIP() << "this CPU has neither AVX-512F nor AVX2 with F16C";
  EXPECT_STREQ(detail::half_loops().name, sets.front().name);
  std::vector<std::uint64_t> sixteen(65536 + 5);  // not a multiple of any vector width
  for (std::size_t x = 0; x < sixteen.size(); ++x) sixteen[x] = x & 0xFFFFU;
  std::vector<std::uint64_t> f32;
  for (std::uint64_t top = 0; top < (1U << 19U); ++top)
    for (const std::uint64_t low : boundary_patterns(13)) f32.push_back(top << 13U | low);
  f32.resize(f32.size() + 3, 0x3F800000U);
  struct Case {
    detail::HalfLoop detail::HalfLoops::*loop;
    Dtype from;
    Dtype to;
    const std::vector<std::uint64_t>* inputs;
  };
  const Case cases[] = {{&detail::HalfLoops::bf16_to_f16, Dtype::BF16, Dtype::F16, &sixteen},
                        {&detail::HalfLoops::f16_to_f32, Dtype::F16, Dtype::F32, &sixteen},
                        {&detail::HalfLoops::f32_to_f16, Dtype::F32, Dtype::F16, &f32}};
  for (const detail::HalfLoops& set : sets) {
    for (const Case& c : cases) {
      const std::size_t in_size = bit_size(c.from) / 8;
      const std::size_t out_size = bit_size(c.to) / 8;
      const std::vector<std::uint64_t>& inputs = *c.inputs;
      std::vector<std::byte> in(inputs.size() * in_size + 1);
      for (std::size_t i = 0; i < inputs.size(); ++i)
        std::memcpy(in.data() + 1 + i * in_size, &inputs[i], in_size);
      std::vector<std::byte> out(inputs.size() * out_size + 1, std::byte{0xEE});
      const detail::HalfLoop loop = set.*c.loop;
      ASSERT_NE(loop, nullptr) << set.name;
      const std::uint64_t done = loop(in.data() + 1, out.data() + 1, inputs.size());
      ASSERT_LE(done, inputs.size());
      EXPECT_LT(inputs.size() - done, 16U) << set.name << " left more than a vector";
      for (std::size_t i = 0; i < done; ++i) {
        std::uint64_t got = 0;
        std::memcpy(&got, out.data() + 1 + i * out_size, out_size);
        ASSERT_EQ(got, general(c.from, c.to, inputs[i]))
            << set.name << " " << to_string(c.from) << " -> " << to_string(c.to) << " of 0x"
            << std::hex << inputs[i];
      }
      // Past what it converted, nothing was written.
      for (std::size_t b = 1 + done * out_size; b < out.size(); ++b)
        ASSERT_EQ(out[b], std::byte{0xEE}) << set.name << " wrote past its elements";
    }
  }
}

TEST(ConvertElements, bf16_to_f32_differs_from_a_plain_shift_only_on_signalling_nans) {
  // Why the BF16 -> F32 loop is not `bits << 16`: the general function quiets signalling NaNs
  // (exponent all ones, mantissa non-zero with its top bit clear): 63 per sign.
  std::vector<std::byte> in(2 * 65536);
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    std::memcpy(in.data() + 2 * b, &bits, 2);
  }
  std::vector<std::byte> out(4 * 65536);
  detail::convert_elements(Dtype::BF16, Dtype::F32, in.data(), out.data(), 65536);
  int differ = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    std::uint32_t got = 0;
    std::memcpy(&got, out.data() + 4 * b, 4);
    if (got == b << 16U) continue;
    ++differ;
    const bool signalling = (b & 0x7F80U) == 0x7F80U && (b & 0x7FU) != 0 && (b & 0x40U) == 0;
    EXPECT_TRUE(signalling) << std::hex << b;
    EXPECT_EQ(got, (b << 16U) | 0x00400000U) << std::hex << b;
  }
  EXPECT_EQ(differ, 2 * 63);
}

TEST(ConvertElements, f32_sources_equal_the_general_function_at_every_boundary_and_at_random) {
  // Every sign, exponent and kept-mantissa pattern with the dropped bits at each rounding
  // boundary (16 dropped for BF16, 13 for F16), then 4 million random patterns for each pair.
  std::vector<std::uint64_t> bf16_boundaries;
  for (std::uint64_t top = 0; top < (1U << 16U); ++top)
    for (const std::uint64_t low : boundary_patterns(16))
      bf16_boundaries.push_back(top << 16U | low);
  expect_loop_equals_general(Dtype::F32, Dtype::BF16, bf16_boundaries);
  std::vector<std::uint64_t> f16_boundaries;
  for (std::uint64_t top = 0; top < (1U << 19U); ++top)
    for (const std::uint64_t low : boundary_patterns(13))
      f16_boundaries.push_back(top << 13U | low);
  expect_loop_equals_general(Dtype::F32, Dtype::F16, f16_boundaries);
  std::mt19937 random(5);
  std::vector<std::uint64_t> inputs(std::size_t{4} << 20U);
  for (std::uint64_t& x : inputs) x = random();
  for (const Dtype to : {Dtype::BF16, Dtype::F16, Dtype::F64})
    expect_loop_equals_general(Dtype::F32, to, inputs);
}

TEST(ConvertElements, f64_sources_equal_the_general_function_at_every_boundary_and_at_random) {
  // Exponents across every target's range (subnormals and overflow included), kept bits random,
  // dropped bits at each boundary of the narrowest target's rounding; then random patterns.
  std::mt19937_64 random(9);
  std::vector<std::uint64_t> inputs;
  for (std::uint64_t exponent = 1023 - 160; exponent <= 1023 + 130; ++exponent) {
    for (const int dropped : {29, 42, 45}) {  // F32, F16, BF16
      for (const std::uint64_t low : boundary_patterns(dropped)) {
        for (int i = 0; i < 16; ++i) {
          const std::uint64_t kept = (random() << dropped) & ((1ULL << 52U) - 1);
          inputs.push_back((random() & (1ULL << 63U)) | exponent << 52U | kept | low);
        }
      }
    }
  }
  for (int i = 0; i < (1 << 21); ++i) inputs.push_back(random());
  for (const Dtype to : {Dtype::F32, Dtype::F16, Dtype::BF16})
    expect_loop_equals_general(Dtype::F64, to, inputs);
}

TEST(ConvertElements, integers_bools_and_sub_byte_dtypes_are_refused_naming_both) {
  std::vector<std::byte> buffer(64);
  const std::pair<Dtype, Dtype> refused[] = {
      {Dtype::I32, Dtype::F32},     {Dtype::F32, Dtype::I32},     {Dtype::BOOL, Dtype::F16},
      {Dtype::F4, Dtype::BF16},     {Dtype::F16, Dtype::F8_E4M3}, {Dtype::F8_E8M0, Dtype::F32},
      {Dtype::F8_E4M3, Dtype::F64}, {Dtype::U8, Dtype::F16}};
  for (const auto& pair : refused) {
    // Not a structured binding: clang 14 cannot capture those in a lambda.
    const Dtype from = pair.first;
    const Dtype to = pair.second;
    EXPECT_FALSE(detail::convertible(from, to));
    EXPECT_TRUE(testing::throws_error(
        [&] { detail::convert_elements(from, to, buffer.data(), buffer.data() + 32, 4); },
        ErrorCode::InvalidArgument, {std::string(to_string(from)), std::string(to_string(to))}));
  }
  EXPECT_TRUE(detail::convertible(Dtype::I32, Dtype::I32));
  EXPECT_TRUE(detail::convertible(Dtype::F8_E5M2, Dtype::BF16));
  EXPECT_TRUE(detail::convertible(Dtype::F64, Dtype::BF16));
}

}  // namespace
}  // namespace stload

#include "cpu/half_instructions.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define STLOAD_HALF_INSTRUCTIONS 1
// GCC 12 reports its own _mm512_undefined_* placeholders inside avx512fintrin.h as "may be used
// uninitialized" where those intrinsics inline; the registers are deliberately undefined there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace stload::detail {
namespace {

#ifdef STLOAD_HALF_INSTRUCTIONS

// Round to nearest even, from the instruction's immediate (not MXCSR), exceptions suppressed.
constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

__attribute__((target("avx512f"))) std::uint64_t bf16_to_f16_avx512(const std::byte* in,
                                                                    std::byte* out,
                                                                    std::uint64_t count) {
  const std::uint64_t whole = count / 16 * 16;
  for (std::uint64_t i = 0; i < whole; i += 16) {
    const __m256i bf16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 2 * i));
    const __m512i f32 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(bf16), 16);
    const __m256i f16 = _mm512_cvtps_ph(_mm512_castsi512_ps(f32), kNearest);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * i), f16);
  }
  return whole;
}

__attribute__((target("avx512f"))) std::uint64_t f32_to_f16_avx512(const std::byte* in,
                                                                   std::byte* out,
                                                                   std::uint64_t count) {
  const std::uint64_t whole = count / 16 * 16;
  for (std::uint64_t i = 0; i < whole; i += 16) {
    const __m512 f32 = _mm512_loadu_ps(reinterpret_cast<const float*>(in + 4 * i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * i), _mm512_cvtps_ph(f32, kNearest));
  }
  return whole;
}

__attribute__((target("avx512f"))) std::uint64_t f16_to_f32_avx512(const std::byte* in,
                                                                   std::byte* out,
                                                                   std::uint64_t count) {
  const std::uint64_t whole = count / 16 * 16;
  for (std::uint64_t i = 0; i < whole; i += 16) {
    const __m256i f16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 2 * i));
    _mm512_storeu_ps(reinterpret_cast<float*>(out + 4 * i), _mm512_cvtph_ps(f16));
  }
  return whole;
}

__attribute__((target("avx2,f16c"))) std::uint64_t bf16_to_f16_avx2(const std::byte* in,
                                                                    std::byte* out,
                                                                    std::uint64_t count) {
  const std::uint64_t whole = count / 8 * 8;
  for (std::uint64_t i = 0; i < whole; i += 8) {
    const __m128i bf16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    const __m256i f32 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(bf16), 16);
    const __m128i f16 = _mm256_cvtps_ph(_mm256_castsi256_ps(f32), kNearest);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), f16);
  }
  return whole;
}

__attribute__((target("avx2,f16c"))) std::uint64_t f32_to_f16_avx2(const std::byte* in,
                                                                   std::byte* out,
                                                                   std::uint64_t count) {
  const std::uint64_t whole = count / 8 * 8;
  for (std::uint64_t i = 0; i < whole; i += 8) {
    const __m256 f32 = _mm256_loadu_ps(reinterpret_cast<const float*>(in + 4 * i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm256_cvtps_ph(f32, kNearest));
  }
  return whole;
}

__attribute__((target("avx2,f16c"))) std::uint64_t f16_to_f32_avx2(const std::byte* in,
                                                                   std::byte* out,
                                                                   std::uint64_t count) {
  const std::uint64_t whole = count / 8 * 8;
  for (std::uint64_t i = 0; i < whole; i += 8) {
    const __m128i f16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    _mm256_storeu_ps(reinterpret_cast<float*>(out + 4 * i), _mm256_cvtph_ps(f16));
  }
  return whole;
}

// F16C is CPUID leaf 1, ECX bit 29 (__builtin_cpu_supports knows no "f16c" in every compiler);
// __builtin_cpu_supports checks that the OS saves the AVX and AVX-512 registers.
bool has_f16c() {
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1U << 29U)) != 0;
}

std::vector<HalfLoops> runnable() {
  __builtin_cpu_init();
  std::vector<HalfLoops> sets;
  if (__builtin_cpu_supports("avx512f") != 0) {
    sets.push_back({"avx512f", bf16_to_f16_avx512, f32_to_f16_avx512, f16_to_f32_avx512});
  }
  if (__builtin_cpu_supports("avx2") != 0 && has_f16c()) {
    sets.push_back({"avx2+f16c", bf16_to_f16_avx2, f32_to_f16_avx2, f16_to_f32_avx2});
  }
  return sets;
}

#else

std::vector<HalfLoops> runnable() {
  return {};
}

#endif

}  // namespace

std::vector<HalfLoops> runnable_half_loops() {
  return runnable();
}

const HalfLoops& half_loops() noexcept {
  static const HalfLoops loops = [] {
    try {
      const std::vector<HalfLoops> sets = runnable();
      return sets.empty() ? HalfLoops{} : sets.front();
    } catch (...) {  // no memory for a two-element vector: the portable loops will do
      return HalfLoops{};
    }
  }();
  return loops;
}

}  // namespace stload::detail

#include "cpu/streaming_copy.hpp"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>  // SSE2: part of every x86-64 CPU, so no runtime dispatch is needed
#define STLOAD_STREAMING_COPY_SSE2 1
#endif

namespace stload::detail {

void streaming_copy(void* destination, const void* source, std::size_t size,
                    std::size_t min_bytes) noexcept {
#ifdef STLOAD_STREAMING_COPY_SSE2
  if (size >= min_bytes && size >= 64) {
    constexpr std::size_t kLine = 64;
    auto* out = static_cast<std::byte*>(destination);
    const auto* in = static_cast<const std::byte*>(source);
    // Streaming stores need 16-byte aligned destinations; whole lines keep the write-combining
    // buffers full.
    const std::size_t head = (kLine - reinterpret_cast<std::uintptr_t>(out) % kLine) % kLine;
    std::memcpy(out, in, head);
    out += head;
    in += head;
    size -= head;
    for (; size >= kLine; size -= kLine, out += kLine, in += kLine) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16));
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 32));
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(out), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(out + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(out + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(out + 48), d);
    }
    // Non-temporal stores are weakly ordered: fence them so the usual release/acquire that hands
    // the arena to another thread also publishes these bytes.
    _mm_sfence();
    std::memcpy(out, in, size);
    return;
  }
#else
  static_cast<void>(min_bytes);
#endif
  std::memcpy(destination, source, size);
}

}  // namespace stload::detail

// libFuzzer target: the restricted pickle reader must either return or throw stload::Error, for
// any bytes. Any other exception escapes and aborts the run; the sanitizers catch memory and UB
// errors. The limits are lowered so that a mutated length or count reaches them quickly.

#include <cstddef>
#include <cstdint>
#include <span>

#include "pt/pickle_reader.hpp"
#include "stload/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  stload::detail::pt::PickleLimits limits;
  limits.max_objects = 100'000;
  limits.max_memo = 10'000;
  limits.max_stack = 100'000;
  try {
    const auto pickle =
        stload::detail::pt::read_pickle(std::as_bytes(std::span(data, size)), limits);
    static_cast<void>(pickle);
  } catch (const stload::Error&) {
  }
  return 0;
}

// libFuzzer target: parse_header must either return or throw stload::Error. Any other exception
// escapes and aborts the run, and the sanitizers catch memory and UB errors, so both are findings.

#include <cstddef>
#include <cstdint>
#include <span>

#include "stload/error.hpp"
#include "stload/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const stload::Header header = stload::parse_header(std::as_bytes(std::span(data, size)));
    static_cast<void>(header);
  } catch (const stload::Error&) {
  }
  return 0;
}

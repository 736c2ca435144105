// Converts the raw little-endian elements of FROM on stdin into TO on stdout with the loader's own
// element conversion (cpu/convert_elements.hpp), for convert_reference.py to compare with numpy
// and ml_dtypes. Usage: stload_convert_table FROM TO < in > out. Exit 2 on a usage error, 1 when
// the conversion is refused.
#include <cstddef>
#include <cstdio>
#include <exception>
#include <vector>

#include "cpu/convert_elements.hpp"
#include "stload/dtype.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FROM TO < in > out\n", argv[0]);
    return 2;
  }
  const auto from = stload::dtype_from_string(argv[1]);
  const auto to = stload::dtype_from_string(argv[2]);
  if (!from || !to) {
    std::fprintf(stderr, "unknown dtype\n");
    return 2;
  }
  std::vector<std::byte> in;
  std::byte block[1 << 16];
  for (std::size_t got = 0; (got = std::fread(block, 1, sizeof block, stdin)) > 0;)
    in.insert(in.end(), block, block + got);
  const std::size_t in_size = stload::bit_size(*from) / 8;
  const std::size_t out_size = stload::bit_size(*to) / 8;
  if (in_size == 0 || out_size == 0 || in.size() % in_size != 0) {
    std::fprintf(stderr, "input is not whole elements of %s\n", argv[1]);
    return 2;
  }
  const std::size_t count = in.size() / in_size;
  std::vector<std::byte> out(count * out_size);
  try {
    stload::detail::convert_elements(*from, *to, in.data(), out.data(), count);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}

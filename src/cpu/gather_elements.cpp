#include "cpu/gather_elements.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace stload::detail {
namespace {

// One run along the last dimension: `count` elements `stride` bytes apart, written packed. The
// fixed-size cases let the compiler turn each element into one load and one store.
template <std::size_t Size>
void copy_elements(const std::byte* in, std::uint64_t stride, std::byte* out, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) std::memcpy(out + i * Size, in + i * stride, Size);
}

void copy_row(const std::byte* in, std::uint64_t stride, std::byte* out, std::uint64_t count,
              std::uint64_t element) {
  if (stride == element) {  // the last dimension is compact: one block
    std::memcpy(out, in, count * element);
    return;
  }
  switch (element) {
    case 1:
      copy_elements<1>(in, stride, out, count);
      return;
    case 2:
      copy_elements<2>(in, stride, out, count);
      return;
    case 4:
      copy_elements<4>(in, stride, out, count);
      return;
    case 8:
      copy_elements<8>(in, stride, out, count);
      return;
    default:
      for (std::uint64_t i = 0; i < count; ++i)
        std::memcpy(out + i * element, in + i * stride, element);
  }
}

}  // namespace

void gather_box(const StridedLayout& layout, const GatherBox& box, const std::byte* storage,
                std::byte* output) {
  const std::size_t rank = layout.shape.size();
  if (rank == 0 || box.elements == 0) return;
  const std::uint64_t element = layout.element_bytes;
  const std::size_t last = rank - 1;
  // Row-major output strides, in elements.
  std::vector<std::uint64_t> pitch(rank, 1);
  for (std::size_t d = last; d-- > 0;) pitch[d] = pitch[d + 1] * layout.shape[d + 1];
  std::vector<std::uint64_t> index(box.begin);  // odometer over every dimension but the last
  const std::uint64_t row = box.end[last] - box.begin[last];
  while (true) {
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      in += (index[d] - box.begin[d]) * layout.stride[d];
      out += index[d] * pitch[d];
    }
    copy_row(storage + in * element, layout.stride[last] * element, output + out * element, row,
             element);
    std::size_t d = last;
    while (d > 0) {
      --d;
      if (++index[d] < box.end[d]) break;
      index[d] = box.begin[d];
      if (d == 0) return;
    }
    if (last == 0) return;
  }
}

void gather_run(const StridedLayout& layout, const std::byte* storage, std::uint64_t first,
                std::uint64_t count, std::byte* out) {
  const std::size_t rank = layout.shape.size();
  if (rank == 0 || count == 0) return;
  const std::uint64_t element = layout.element_bytes;
  const std::size_t last = rank - 1;
  std::vector<std::uint64_t> index(rank, 0);
  for (std::size_t d = rank; d-- > 0;) {  // unravel `first`
    index[d] = first % layout.shape[d];
    first /= layout.shape[d];
  }
  while (count > 0) {
    std::uint64_t in = 0;
    for (std::size_t d = 0; d < rank; ++d) in += index[d] * layout.stride[d];
    const std::uint64_t row = std::min(count, layout.shape[last] - index[last]);
    copy_row(storage + in * element, layout.stride[last] * element, out, row, element);
    out += row * element;
    count -= row;
    index[last] = 0;
    for (std::size_t d = last; d-- > 0;) {  // carry into the dimensions before the last
      if (++index[d] < layout.shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace stload::detail

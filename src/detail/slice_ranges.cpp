#include "detail/slice_ranges.hpp"

#include <string>

#include "detail/check.hpp"
#include "stload/dtype.hpp"

namespace stload::detail {
namespace {

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A plan with more runs than this would spend more on its pieces than on the bytes: such a
// region (a thin column of a tall tensor) is refused rather than planned.
constexpr std::uint64_t kMaxRuns = 1ULL << 24U;

}  // namespace

std::vector<std::pair<std::uint64_t, std::uint64_t>> slice_bounds(const TensorRecord& record,
                                                                  const TensorParallel& options,
                                                                  const std::size_t* dim) {
  const std::string& name = record.info.name;
  const std::vector<std::uint64_t>& shape = record.info.shape;
  const auto explicit_bounds = options.bounds.find(name);
  if (explicit_bounds != options.bounds.end()) {
    const auto& bounds = explicit_bounds->second;
    STLOAD_EXPECT(bounds.size() == shape.size(), ErrorCode::InvalidArgument,
                  "tensor '" + name + "' of shape " + shape_text(shape) + " has " +
                      std::to_string(shape.size()) + " dimensions; its bounds give " +
                      std::to_string(bounds.size()));
    for (std::size_t d = 0; d < shape.size(); ++d) {
      STLOAD_EXPECT(bounds[d].first <= bounds[d].second && bounds[d].second <= shape[d],
                    ErrorCode::InvalidArgument,
                    "tensor '" + name + "': bounds [" + std::to_string(bounds[d].first) + ", " +
                        std::to_string(bounds[d].second) + ") of dim " + std::to_string(d) +
                        " do not lie in [0, " + std::to_string(shape[d]) + ")");
    }
    return bounds;
  }
  if (dim == nullptr || options.world == 1) return {};
  STLOAD_EXPECT(*dim < shape.size(), ErrorCode::InvalidArgument,
                "tensor '" + name + "' of shape " + shape_text(shape) + " has no dim " +
                    std::to_string(*dim) + " to split");
  const std::uint64_t size = shape[*dim];
  STLOAD_EXPECT(size % options.world == 0, ErrorCode::InvalidArgument,
                "tensor '" + name + "' of shape " + shape_text(shape) + ": dim " +
                    std::to_string(*dim) + " of size " + std::to_string(size) +
                    " does not divide into " + std::to_string(options.world) +
                    " equal parts (give explicit bounds for it)");
  std::vector<std::pair<std::uint64_t, std::uint64_t>> bounds;
  for (const std::uint64_t extent : shape) bounds.emplace_back(0, extent);
  const std::uint64_t part = size / options.world;
  bounds[*dim] = {options.rank * part, (options.rank + 1) * part};
  return bounds;
}

void plan_region(const TensorRecord& record,
                 const std::vector<std::pair<std::uint64_t, std::uint64_t>>& bounds,
                 OutputSpec& output, std::vector<SourceRange>& sources) {
  const std::vector<std::uint64_t>& shape = record.info.shape;
  const std::uint64_t bits = bit_size(record.info.dtype);
  const std::string& name = record.info.name;
  output.dtype = record.info.dtype;
  output.shape.clear();
  sources.clear();
  std::uint64_t elements = 1;
  for (const auto& [begin, end] : bounds) {
    output.shape.push_back(end - begin);
    elements *= end - begin;  // the region lies inside the tensor: no overflow
  }
  STLOAD_EXPECT(elements * bits % 8 == 0, ErrorCode::InvalidArgument,
                "tensor '" + name + "': its part of shape " + shape_text(output.shape) +
                    " is not a whole number of bytes (" + std::to_string(bits) + "-bit elements)");
  output.bytes = elements * bits / 8;
  if (elements == 0) return;

  // The last dimension the region does not cover whole: every dimension after it is whole, so a
  // run spans that dimension's extent times all the inner ones.
  std::size_t last = shape.size();
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (bounds[d].first != 0 || bounds[d].second != shape[d]) {
      last = d;
      break;
    }
  }
  if (last == shape.size()) {  // the whole tensor
    sources.push_back(SourceRange{record.file, record.offset, output.bytes, 0});
    return;
  }
  std::vector<std::uint64_t> stride(shape.size(), 1);  // in elements
  for (std::size_t d = shape.size() - 1; d-- > 0;) stride[d] = stride[d + 1] * shape[d + 1];
  const std::uint64_t run_elements = (bounds[last].second - bounds[last].first) * stride[last];
  STLOAD_EXPECT(run_elements * bits % 8 == 0, ErrorCode::InvalidArgument,
                "tensor '" + name + "': a run of its part (" + std::to_string(run_elements) +
                    " elements of " + std::to_string(bits) + " bits) is not whole bytes");
  const std::uint64_t runs = elements / run_elements;
  STLOAD_EXPECT(runs <= kMaxRuns, ErrorCode::InvalidArgument,
                "tensor '" + name + "': its part of shape " + shape_text(output.shape) + " is " +
                    std::to_string(runs) + " separate runs of " +
                    std::to_string(run_elements * bits / 8) +
                    " bytes, more than stload plans (split a lower dimension)");
  sources.reserve(static_cast<std::size_t>(runs));
  std::vector<std::uint64_t> index(last);  // the outer dimensions' indices, an odometer
  for (std::size_t d = 0; d < last; ++d) index[d] = bounds[d].first;
  std::uint64_t produced = 0;
  for (std::uint64_t r = 0; r < runs; ++r) {
    std::uint64_t element = bounds[last].first * stride[last];
    for (std::size_t d = 0; d < last; ++d) element += index[d] * stride[d];
    STLOAD_EXPECT(element * bits % 8 == 0, ErrorCode::InvalidArgument,
                  "tensor '" + name + "': a run of its part starts inside a byte (element " +
                      std::to_string(element) + ", " + std::to_string(bits) + "-bit elements)");
    sources.push_back(SourceRange{record.file, record.offset + element * bits / 8,
                                  run_elements * bits / 8, produced});
    produced += run_elements * bits / 8;
    for (std::size_t d = last; d-- > 0;) {  // next outer index
      if (++index[d] < bounds[d].second) break;
      index[d] = bounds[d].first;
    }
  }
}

}  // namespace stload::detail

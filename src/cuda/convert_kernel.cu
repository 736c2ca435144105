#include "cuda/convert_kernel.hpp"

#include "convert/float_bits.hpp"

namespace stload::detail {
namespace {

using namespace stload::convert;

// One kernel per (source, target) pair: Decode gives a double's bits exactly, Encode rounds them
// once. Elements are read and written through their own widths; tensors in a scratch slot start
// at any offset of it, so 8- and 16-bit accesses are the safe choice for every pair.
template <typename In, typename Out, std::uint64_t (*Decode)(In), Out (*Encode)(std::uint64_t)>
__global__ void convert_kernel(const In* in, Out* out, std::uint64_t count) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       i < count; i += stride)
    out[i] = Encode(Decode(in[i]));
}

__host__ __device__ std::uint64_t decode_f64(std::uint64_t bits) {
  return bits;
}
__host__ __device__ std::uint64_t encode_f64(std::uint64_t bits) {
  return bits;
}

template <typename In, typename Out, std::uint64_t (*Decode)(In), Out (*Encode)(std::uint64_t)>
cudaError_t launch(const void* in, void* out, std::uint64_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  constexpr unsigned kThreads = 256;
  // Enough blocks to fill any current GPU several times over; the grid-stride loop does the rest.
  const std::uint64_t wanted = (count + kThreads - 1) / kThreads;
  const unsigned blocks = static_cast<unsigned>(wanted < 65535 ? wanted : 65535);
  // cudaLaunchKernel returns the launch's own error; `<<<>>>` + cudaGetLastError would also read
  // (and clear) an error the caller left before calling us, and report it as ours.
  const In* typed_in = static_cast<const In*>(in);
  Out* typed_out = static_cast<Out*>(out);
  void* args[] = {&typed_in, &typed_out, &count};
  return cudaLaunchKernel(reinterpret_cast<const void*>(&convert_kernel<In, Out, Decode, Encode>),
                          dim3(blocks), dim3(kThreads), args, 0, stream);
}

template <typename In, std::uint64_t (*Decode)(In)>
cudaError_t launch_to(Dtype to, const void* in, void* out, std::uint64_t count,
                      cudaStream_t stream) {
  switch (to) {
    case Dtype::F64:
      return launch<In, std::uint64_t, Decode, encode_f64>(in, out, count, stream);
    case Dtype::F32:
      return launch<In, std::uint32_t, Decode, double_to_f32>(in, out, count, stream);
    case Dtype::F16:
      return launch<In, std::uint16_t, Decode, double_to_f16>(in, out, count, stream);
    case Dtype::BF16:
      return launch<In, std::uint16_t, Decode, double_to_bf16>(in, out, count, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_convert(Dtype from, Dtype to, const void* in, void* out, std::uint64_t count,
                           cudaStream_t stream) noexcept {
  const bool wide_target =
      to == Dtype::F64 || to == Dtype::F32 || to == Dtype::F16 || to == Dtype::BF16;
  if (!wide_target || from == to) return cudaErrorInvalidValue;
  switch (from) {
    case Dtype::F64:
      return launch_to<std::uint64_t, decode_f64>(to, in, out, count, stream);
    case Dtype::F32:
      return launch_to<std::uint32_t, f32_to_double>(to, in, out, count, stream);
    case Dtype::F16:
      return launch_to<std::uint16_t, f16_to_double>(to, in, out, count, stream);
    case Dtype::BF16:
      return launch_to<std::uint16_t, bf16_to_double>(to, in, out, count, stream);
    case Dtype::F8_E4M3:
    case Dtype::F8_E5M2:
      if (to == Dtype::F64) return cudaErrorInvalidValue;  // not offered (issue 15's list)
      return from == Dtype::F8_E4M3
                 ? launch_to<std::uint8_t, f8_e4m3_to_double>(to, in, out, count, stream)
                 : launch_to<std::uint8_t, f8_e5m2_to_double>(to, in, out, count, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace stload::detail

// CopySession's default conversion and strided gather: engines that cannot do them yet say so, as
// one clear error, instead of landing the staged bytes unconverted or in storage order.

#include "detail/check.hpp"
#include "stload/engine.hpp"

namespace stload {

void CopySession::convert_async(std::size_t /*slot*/, const std::byte* /*source*/, Buffer& arena,
                                const Chunk& chunk, std::span<const Piece> /*pieces*/) {
  STLOAD_FAIL(ErrorCode::InvalidArgument, "the engine serving " + arena.device().to_string() +
                                              " cannot convert dtypes yet (" +
                                              std::string(to_string(chunk.from)) + " to " +
                                              std::string(to_string(chunk.to)) + ")");
}

void CopySession::gather_async(std::size_t /*slot*/, const std::byte* /*source*/, Buffer& arena,
                               const Piece& /*piece*/, const StridedLayout& /*layout*/,
                               const GatherBox& /*box*/) {
  STLOAD_FAIL(ErrorCode::InvalidArgument, "the engine serving " + arena.device().to_string() +
                                              " cannot copy strided tensors yet");
}

}  // namespace stload

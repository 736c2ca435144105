#pragma once
/// @file error.hpp
/// @brief The one error type of stload and its codes.

#include <stdexcept>
#include <string>
#include <string_view>

namespace stload {

/// @brief One code per failure. Format codes carry the reference implementation's variant names.
enum class ErrorCode {
  HeaderTooSmall,                ///< file shorter than the 8-byte length prefix
  HeaderTooLarge,                ///< declared header length above 100,000,000 bytes
  InvalidHeaderLength,           ///< header length overflows or runs past the end of the file
  InvalidHeader,                 ///< header bytes are not UTF-8
  InvalidHeaderDeserialization,  ///< header is not the JSON the format demands
  InvalidOffset,             ///< data_offsets leave a gap, overlap, share a range or run backwards
  ValidationOverflow,        ///< element or bit count overflows 64 bits
  MisalignedSlice,           ///< a tensor's bit count is not a whole number of bytes
  TensorInvalidInfo,         ///< data_offsets span disagrees with dtype x shape
  MetadataIncompleteBuffer,  ///< data section shorter or longer than the tensors declare
  TensorNotFound,            ///< a named tensor is not in the checkpoint
  InvalidIndex,              ///< a sharded index.json is malformed or inconsistent
  Io,                        ///< a system call failed or the file changed under us
  Cuda,                      ///< a CUDA runtime call failed
  OutOfMemory,               ///< host or device memory could not be had, or a model does not fit
  NotFound,                  ///< a path does not exist
  InvalidArgument,           ///< a caller's argument is wrong (device map, option, device)
  Cancelled,                 ///< the caller cancelled the operation
};

/// @brief The code's name, e.g. "InvalidOffset".
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

/// @brief Every failure in stload is thrown as this type.
class Error : public std::runtime_error {
 public:
  /// @param code what failed
  /// @param message what, where (file, tensor, offset) and why
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  /// @brief Which failure this is.
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace stload

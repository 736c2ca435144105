#include "stload/error.hpp"

namespace stload {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::HeaderTooSmall:
      return "HeaderTooSmall";
    case ErrorCode::HeaderTooLarge:
      return "HeaderTooLarge";
    case ErrorCode::InvalidHeaderLength:
      return "InvalidHeaderLength";
    case ErrorCode::InvalidHeader:
      return "InvalidHeader";
    case ErrorCode::InvalidHeaderDeserialization:
      return "InvalidHeaderDeserialization";
    case ErrorCode::InvalidOffset:
      return "InvalidOffset";
    case ErrorCode::ValidationOverflow:
      return "ValidationOverflow";
    case ErrorCode::MisalignedSlice:
      return "MisalignedSlice";
    case ErrorCode::TensorInvalidInfo:
      return "TensorInvalidInfo";
    case ErrorCode::MetadataIncompleteBuffer:
      return "MetadataIncompleteBuffer";
    case ErrorCode::TensorNotFound:
      return "TensorNotFound";
    case ErrorCode::InvalidIndex:
      return "InvalidIndex";
    case ErrorCode::Io:
      return "Io";
    case ErrorCode::Cuda:
      return "Cuda";
    case ErrorCode::OutOfMemory:
      return "OutOfMemory";
    case ErrorCode::NotFound:
      return "NotFound";
    case ErrorCode::InvalidArgument:
      return "InvalidArgument";
    case ErrorCode::Cancelled:
      return "Cancelled";
  }
  return "Unknown";
}

}  // namespace stload

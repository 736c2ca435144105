// C API: stload_allocator and stload_destination, the C side of LoadOptions::allocators and
// LoadOptions::destinations.
#include "c_api/caller_memory.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "c_api/struct_size.hpp"
#include "detail/check.hpp"

namespace stload::c_api {
namespace {

// Structs end at their last field (stload.h: they grow at their end, never into tail padding).
static_assert(sizeof(stload_allocator) ==
              offsetof(stload_allocator, user) + sizeof(stload_allocator::user));
static_assert(sizeof(stload_destination) ==
              offsetof(stload_destination, bytes) + sizeof(stload_destination::bytes));

// Element `index` of a caller's array of versioned structs, as the library's type. The stride is
// the caller's sizeof, which every element states as its struct_size (they must agree: a
// mismatch means the array is not what the caller thinks it is).
template <typename Struct>
Struct element(const Struct* array, std::size_t index, const std::string& what) {
  const std::size_t stride = array[0].struct_size;
  check_struct_size(stride, (what + "[0]").c_str());
  // A sizeof is a multiple of the alignment; any other stride would misalign element 1.
  STLOAD_EXPECT(stride % alignof(Struct) == 0, ErrorCode::InvalidArgument,
                what + "[0].struct_size is " + std::to_string(stride) +
                    ", not the size of an array element: initialize it with its _init() function");
  const auto* bytes = reinterpret_cast<const unsigned char*>(array);
  const auto& in = *reinterpret_cast<const Struct*>(bytes + index * stride);
  const std::string name = what + "[" + std::to_string(index) + "]";
  STLOAD_EXPECT(in.struct_size == stride, ErrorCode::InvalidArgument,
                name + ".struct_size is " + std::to_string(in.struct_size) + ", element 0's is " +
                    std::to_string(stride) + ": every element must be initialized alike");
  return from_caller(in, name.c_str());
}

Device device_of(const char* text, const std::string& owner) {
  STLOAD_EXPECT(text != nullptr, ErrorCode::InvalidArgument, owner + ".device is NULL");
  try {
    return Device::parse(text);
  } catch (const Error& error) {
    throw Error(error.code(), owner + ": " + error.what());
  }
}

// What stload_release_callback receives, captured whole before the allocation so that handing
// memory back needs no allocation and cannot throw.
struct Handback {
  stload_release_callback release = nullptr;
  std::shared_ptr<const std::string> device;
  void* user = nullptr;
  void* data = nullptr;
  std::uint64_t bytes = 0;

  void operator()() const noexcept { release(device->c_str(), data, bytes, user); }
};

ArenaAllocator allocator_of(const stload_allocator& in, const Device& device) {
  return [allocate = in.allocate, release = in.release, user = in.user,
          name = std::make_shared<const std::string>(device.to_string())](std::uint64_t bytes,
                                                                          std::uint64_t alignment) {
    Handback handback{release, name, user, nullptr, bytes};
    const int result = allocate(name->c_str(), bytes, alignment, &handback.data, user);
    STLOAD_EXPECT(result == 0, ErrorCode::OutOfMemory,
                  "the allocator for " + *name + " failed (returned " + std::to_string(result) +
                      ") for an arena of " + std::to_string(bytes) + " bytes");
    CallerAllocation out;
    out.data = handback.data;
    if (release == nullptr) return out;
    try {
      out.release = handback;  // a copy: `handback` stays whole if std::function cannot hold it
    } catch (...) {
      handback();  // the memory goes back at once, the load fails with the exception
      throw;
    }
    return out;
  };
}

void add_allocators(const stload_load_options& in, LoadOptions& out) {
  if (in.allocator_count == 0) return;
  STLOAD_EXPECT(in.allocators != nullptr, ErrorCode::InvalidArgument,
                "stload_load_options.allocators is NULL with allocator_count " +
                    std::to_string(in.allocator_count));
  for (std::size_t i = 0; i < in.allocator_count; ++i) {
    const std::string owner = "stload_load_options.allocators[" + std::to_string(i) + "]";
    const stload_allocator allocator = element(in.allocators, i, "stload_load_options.allocators");
    const Device device = device_of(allocator.device, owner);
    STLOAD_EXPECT(allocator.allocate != nullptr, ErrorCode::InvalidArgument,
                  owner + " (" + device.to_string() + ") has no allocate callback");
    STLOAD_EXPECT(out.allocators.emplace(device, allocator_of(allocator, device)).second,
                  ErrorCode::InvalidArgument,
                  owner + ": a second allocator for " + device.to_string());
  }
}

void add_destinations(const stload_load_options& in, LoadOptions& out) {
  if (in.destination_count == 0) return;
  STLOAD_EXPECT(in.destinations != nullptr, ErrorCode::InvalidArgument,
                "stload_load_options.destinations is NULL with destination_count " +
                    std::to_string(in.destination_count));
  for (std::size_t i = 0; i < in.destination_count; ++i) {
    std::string owner = "stload_load_options.destinations[" + std::to_string(i) + "]";
    const stload_destination destination =
        element(in.destinations, i, "stload_load_options.destinations");
    STLOAD_EXPECT(destination.name != nullptr, ErrorCode::InvalidArgument, owner + ".name is NULL");
    owner += " (tensor '" + std::string(destination.name) + "')";
    const TensorDestination cpp{device_of(destination.device, owner), destination.data,
                                destination.bytes};
    STLOAD_EXPECT(out.destinations.emplace(destination.name, cpp).second,
                  ErrorCode::InvalidArgument, owner + ": a second destination for the tensor");
  }
}

}  // namespace

void add_caller_memory(const stload_load_options& in, LoadOptions& out) {
  add_allocators(in, out);
  add_destinations(in, out);
}

}  // namespace stload::c_api

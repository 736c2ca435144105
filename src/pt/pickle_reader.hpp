#pragma once
// A restricted pickle reader: interprets the pickle torch.save writes as data and never executes
// anything. It is a stack machine over the opcodes of protocols 2-5 that builds only dicts
// (OrderedDicts included), lists, tuples, str, bytes, int, float, bool, None, storages (through
// persistent ids) and tensors rebuilt by torch._utils._rebuild_tensor_v2 / _v3 / _rebuild_tensor /
// _rebuild_parameter(_with_state). Every other global, and every REDUCE / BUILD / NEWOBJ / INST /
// OBJ on anything else, is refused with an error naming it: stricter than torch's weights_only
// unpickler (torch/_weights_only_unpickler.py), which also admits sets, torch.Size, devices,
// dtypes and user-allowed globals.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "stload/dtype.hpp"

namespace stload::detail::pt {

/// Bounds on what a pickle may ask the reader to build; each is checked as the pickle is read.
struct PickleLimits {
  std::uint64_t max_opcodes = 64'000'000;
  std::uint64_t max_objects = 4'000'000;     ///< every value built (about 80 bytes each)
  std::uint64_t max_memo = 4'000'000;        ///< memo entries
  std::uint64_t max_depth = 256;             ///< containers nested in containers, and marks
  std::uint64_t max_string = 64ULL << 20;    ///< bytes of one str / bytes value
  std::uint64_t max_container = 16'000'000;  ///< items of one list / tuple / dict
  std::uint64_t max_dims = 64;               ///< dimensions of one tensor
  std::uint64_t max_stack = 16'000'000;      ///< values on the stack at once
};

/// A storage named by a persistent id ('storage', torch.<Dtype>Storage, key, location, numel).
struct StorageRef {
  std::string type;         ///< e.g. "FloatStorage", "UntypedStorage"
  Dtype dtype = Dtype::U8;  ///< U8 for an untyped storage, whose numel counts bytes
  std::string key;          ///< the zip entry is <archive>/data/<key>
  std::string location;     ///< e.g. "cpu", "cuda:0": where torch would put it; stload ignores it
  std::uint64_t numel = 0;
};

/// A tensor as torch stores it: a view of a storage.
struct TensorRef {
  std::size_t storage = 0;           ///< index into Pickle::storages
  Dtype dtype = Dtype::U8;           ///< the storage's, or _rebuild_tensor_v3's dtype argument
  std::uint64_t storage_offset = 0;  ///< in elements
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> stride;  ///< in elements
  bool requires_grad = false;
  bool parameter = false;  ///< rebuilt by _rebuild_parameter (an nn.Parameter)
};

enum class Kind : std::uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  Bytes,
  List,
  Tuple,
  Dict,
  Storage,
  Tensor,
  Global,
};

/// The allowed globals (callables) a pickle may name.
enum class Global : std::uint8_t {
  OrderedDict,
  RebuildTensorV2,
  RebuildTensorV3,  ///< the newer dtypes (float8, uint16...): an untyped storage and a dtype
  RebuildTensor,
  RebuildParameter,
  RebuildParameterWithState,
  CodecsEncode,  ///< _codecs.encode(str, 'latin1'): how protocol 2 writes bytes
  StorageType,   ///< torch.<Dtype>Storage or torch.storage.UntypedStorage; `text` holds its
                 ///< name, `dtype` its element type (U8 for the untyped one)
  DtypeValue,    ///< torch.<dtype> (torch.float8_e4m3fn), an argument of _rebuild_tensor_v3
};

/// One value. Containers hold indices into Pickle::objects (a value may be shared, as the memo
/// lets a pickle refer to one object twice; a container may even hold itself, so walkers bound
/// their depth).
struct Object {
  Kind kind = Kind::None;
  Global global = Global::OrderedDict;  // Kind::Global
  bool ordered = false;                 // Kind::Dict made by collections.OrderedDict
  Dtype dtype = Dtype::U8;              // Kind::Global StorageType
  std::uint32_t depth = 0;              // containers below it (as far as known when built)
  std::int64_t integer = 0;             // Bool, Int; Storage / Tensor: index into their vector
  double real = 0;                      // Float
  std::string text;                     // Str (UTF-8), Bytes, Global StorageType name
  std::vector<std::size_t> items;       // List, Tuple; Dict: key, value, key, value, ...
};

struct Pickle {
  std::vector<Object> objects;
  std::vector<StorageRef> storages;
  std::vector<TensorRef> tensors;
  std::size_t root = 0;  ///< the value the pickle returns

  /// "dict", "int", "tensor", ...: for messages.
  [[nodiscard]] std::string kind_name(std::size_t object) const;
};

/// Reads a whole pickle. Throws stload::Error InvalidHeader naming the opcode and its offset for
/// anything malformed, refused (a global outside the allowed set, "posix system", "builtins
/// eval", ...) or over a limit.
[[nodiscard]] Pickle read_pickle(std::span<const std::byte> bytes, const PickleLimits& limits = {});

/// The Dtype of a torch dtype name ("float8_e4m3fn" -> F8_E4M3); false when safetensors has none.
[[nodiscard]] bool torch_dtype(std::string_view name, Dtype& dtype) noexcept;

/// The Dtype of a torch storage class name ("BFloat16Storage" -> BF16); false when torch has no
/// such storage or safetensors no such dtype.
[[nodiscard]] bool storage_dtype(std::string_view type, Dtype& dtype) noexcept;

}  // namespace stload::detail::pt

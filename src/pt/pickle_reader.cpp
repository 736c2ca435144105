#include "pt/pickle_reader.hpp"

#include <bit>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "detail/check.hpp"

namespace stload::detail::pt {
namespace {

struct StorageName {
  std::string_view name;
  Dtype dtype;
};
// The storage classes torch.save names (torch.storage._dtype_to_storage_type_map) that have a
// safetensors dtype. ComplexDouble, the quantized and the bits types have none and are refused.
constexpr StorageName kStorages[] = {
    {"FloatStorage", Dtype::F32},
    {"DoubleStorage", Dtype::F64},
    {"HalfStorage", Dtype::F16},
    {"BFloat16Storage", Dtype::BF16},
    {"LongStorage", Dtype::I64},
    {"IntStorage", Dtype::I32},
    {"ShortStorage", Dtype::I16},
    {"CharStorage", Dtype::I8},
    {"ByteStorage", Dtype::U8},
    {"BoolStorage", Dtype::BOOL},
    {"ComplexFloatStorage", Dtype::C64},
    {"UInt16Storage", Dtype::U16},
    {"UInt32Storage", Dtype::U32},
    {"UInt64Storage", Dtype::U64},
    {"Float8_e4m3fnStorage", Dtype::F8_E4M3},
    {"Float8_e5m2Storage", Dtype::F8_E5M2},
    {"Float8_e4m3fnuzStorage", Dtype::F8_E4M3FNUZ},
    {"Float8_e5m2fnuzStorage", Dtype::F8_E5M2FNUZ},
    {"Float8_e8m0fnuStorage", Dtype::F8_E8M0},
};

struct DtypeName {
  std::string_view name;
  Dtype dtype;
};
// torch.<dtype> attribute names (both spellings where torch has two) with a safetensors dtype.
constexpr DtypeName kDtypes[] = {
    {"float32", Dtype::F32},
    {"float", Dtype::F32},
    {"float64", Dtype::F64},
    {"double", Dtype::F64},
    {"float16", Dtype::F16},
    {"half", Dtype::F16},
    {"bfloat16", Dtype::BF16},
    {"int64", Dtype::I64},
    {"long", Dtype::I64},
    {"int32", Dtype::I32},
    {"int", Dtype::I32},
    {"int16", Dtype::I16},
    {"short", Dtype::I16},
    {"int8", Dtype::I8},
    {"uint8", Dtype::U8},
    {"bool", Dtype::BOOL},
    {"complex64", Dtype::C64},
    {"cfloat", Dtype::C64},
    {"uint16", Dtype::U16},
    {"uint32", Dtype::U32},
    {"uint64", Dtype::U64},
    {"float8_e4m3fn", Dtype::F8_E4M3},
    {"float8_e5m2", Dtype::F8_E5M2},
    {"float8_e4m3fnuz", Dtype::F8_E4M3FNUZ},
    {"float8_e5m2fnuz", Dtype::F8_E5M2FNUZ},
    {"float8_e8m0fnu", Dtype::F8_E8M0},
};

const char* kind_word(Kind kind) {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Dict:
      return "dict";
    case Kind::Storage:
      return "storage";
    case Kind::Tensor:
      return "tensor";
    case Kind::Global:
      return "global";
  }
  return "?";
}

// Appends the code points of UTF-8 `s` as latin-1 bytes; false for a code point above 255 or
// malformed UTF-8 (what _codecs.encode(s, 'latin1') would refuse).
bool utf8_to_latin1(std::string_view s, std::string& out) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2 && c <= 0xC3 && i + 1 < s.size() &&
               (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      out.push_back(
          static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F)));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const PickleLimits& limits)
      : bytes_(bytes), limits_(limits) {}

  Pickle run() {
    while (true) {
      if (pos_ >= bytes_.size()) fail_at(pos_, "pickle ends without a STOP opcode");
      op_at_ = pos_;
      if (++opcodes_ > limits_.max_opcodes)
        fail("more than " + std::to_string(limits_.max_opcodes) + " opcodes");
      const auto op = static_cast<unsigned char>(bytes_[pos_++]);
      if (op == '.') break;
      step(op);
    }
    if (!marks_.empty()) fail("STOP with an open MARK");
    if (stack_.size() != 1)
      fail("STOP with " + std::to_string(stack_.size()) + " values on the stack instead of one");
    out_.root = stack_.back();
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    STLOAD_FAIL(ErrorCode::InvalidHeader,
                "pickle: " + what + " (at byte " + std::to_string(at) + ")");
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(op_at_, what); }

  std::span<const std::byte> take(std::uint64_t n, const char* what) {
    if (n > bytes_.size() - pos_)
      fail(std::string(what) + " declares " + std::to_string(n) + " bytes but only " +
           std::to_string(bytes_.size() - pos_) + " remain");
    const auto s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t le(std::size_t width, const char* what) {
    const auto s = take(width, what);
    std::uint64_t v = 0;
    for (std::size_t i = width; i-- > 0;) v = (v << 8) | std::to_integer<std::uint64_t>(s[i]);
    return v;
  }
  std::string_view line(const char* what) {
    const std::size_t start = pos_;
    while (pos_ < bytes_.size() && bytes_[pos_] != std::byte{'\n'}) {
      if (pos_ - start > 256) fail(std::string(what) + " longer than 256 bytes");
      ++pos_;
    }
    if (pos_ >= bytes_.size()) fail(std::string(what) + " has no newline");
    const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + start), pos_ - start);
    ++pos_;
    return s;
  }

  std::size_t make(Object object) {
    if (out_.objects.size() >= limits_.max_objects)
      fail("more than " + std::to_string(limits_.max_objects) + " objects");
    out_.objects.push_back(std::move(object));
    return out_.objects.size() - 1;
  }
  void push(std::size_t object) {
    if (stack_.size() >= limits_.max_stack)
      fail("more than " + std::to_string(limits_.max_stack) + " values on the stack");
    stack_.push_back(object);
  }
  std::size_t pop(const char* opname) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail(std::string(opname) + " on an empty stack");
    const std::size_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::size_t& top(const char* opname) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail(std::string(opname) + " on an empty stack");
    return stack_.back();
  }
  // The values above the topmost mark, which is removed.
  std::vector<std::size_t> pop_mark(const char* opname) {
    if (marks_.empty()) fail(std::string(opname) + " without a MARK");
    const std::size_t at = marks_.back();
    marks_.pop_back();
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
    stack_.resize(at);
    return items;
  }
  Object& obj(std::size_t i) { return out_.objects[i]; }

  std::size_t scalar(Kind kind, std::int64_t integer = 0) {
    Object o;
    o.kind = kind;
    o.integer = integer;
    return make(std::move(o));
  }
  std::size_t text(Kind kind, std::uint64_t n, const char* what) {
    if (n > limits_.max_string)
      fail(std::string(what) + " of " + std::to_string(n) + " bytes, above the limit of " +
           std::to_string(limits_.max_string));
    const auto s = take(n, what);
    Object o;
    o.kind = kind;
    o.text.assign(reinterpret_cast<const char*>(s.data()), s.size());
    return make(std::move(o));
  }
  // Depth of a container that now holds `child`.
  void deepen(std::size_t container, std::size_t child) {
    const std::uint32_t d = obj(child).depth + 1;
    if (d > limits_.max_depth)
      fail("containers nested deeper than " + std::to_string(limits_.max_depth));
    if (obj(container).depth < d) obj(container).depth = d;
  }
  std::size_t container(Kind kind, std::vector<std::size_t> items) {
    if (items.size() > limits_.max_container)
      fail(std::string(kind_word(kind)) + " of " + std::to_string(items.size()) +
           " items, above the limit");
    Object o;
    o.kind = kind;
    const std::size_t i = make(std::move(o));
    for (const std::size_t item : items) deepen(i, item);
    obj(i).items = std::move(items);
    return i;
  }
  void add_items(std::size_t target, const std::vector<std::size_t>& items, const char* opname) {
    Object& t = obj(target);
    if (t.kind != Kind::List && t.kind != Kind::Dict)
      fail(std::string(opname) + " on a " + out_.kind_name(target) + " (only lists and dicts)");
    if (t.kind == Kind::List && std::strcmp(opname, "SETITEMS") == 0) fail("SETITEMS on a list");
    if (t.kind == Kind::Dict && std::strcmp(opname, "APPENDS") == 0) fail("APPENDS on a dict");
    if (t.kind == Kind::Dict && items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    if (t.items.size() + items.size() > limits_.max_container)
      fail(std::string(kind_word(t.kind)) + " of more than " +
           std::to_string(limits_.max_container) + " items");
    for (const std::size_t item : items) deepen(target, item);
    obj(target).items.insert(obj(target).items.end(), items.begin(), items.end());
  }

  void memo_put(std::uint64_t key) {
    const std::size_t v = top("memo put");
    if (memo_.size() >= limits_.max_memo && memo_.find(key) == memo_.end())
      fail("more than " + std::to_string(limits_.max_memo) + " memo entries");
    memo_[key] = v;
  }
  void memo_get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  // GLOBAL / STACK_GLOBAL: only the allowed names become anything; the rest is refused here,
  // before any REDUCE could call it.
  std::size_t global(std::string_view module, std::string_view name) {
    Object o;
    o.kind = Kind::Global;
    if (module == "collections" && name == "OrderedDict") {
      o.global = Global::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      o.global = Global::RebuildTensorV2;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v3") {
      o.global = Global::RebuildTensorV3;
    } else if (module == "torch._utils" && name == "_rebuild_tensor") {
      o.global = Global::RebuildTensor;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      o.global = Global::RebuildParameter;
    } else if (module == "torch._utils" && name == "_rebuild_parameter_with_state") {
      o.global = Global::RebuildParameterWithState;
    } else if (module == "_codecs" && name == "encode") {
      o.global = Global::CodecsEncode;
    } else if (module == "torch" && storage_dtype(name, o.dtype)) {
      o.global = Global::StorageType;
      o.text = std::string(name);
    } else if (module == "torch.storage" && name == "UntypedStorage") {
      o.global = Global::StorageType;
      o.dtype = Dtype::U8;
      o.text = std::string(name);
    } else if (module == "torch" && torch_dtype(name, o.dtype)) {
      o.global = Global::DtypeValue;
      o.text = std::string(name);
    } else {
      std::string shown = std::string(module) + " " + std::string(name);
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
      fail("refused global '" + shown +
           "': a checkpoint may name only collections.OrderedDict, torch._utils._rebuild_tensor_v2 "
           "/ _v3 / _rebuild_tensor / _rebuild_parameter(_with_state), _codecs.encode, "
           "torch.<Dtype>Storage, torch.storage.UntypedStorage and torch dtypes; nothing was "
           "executed");
    }
    return make(std::move(o));
  }

  std::uint64_t as_uint(std::size_t i, const char* what) {
    const Object& o = obj(i);
    if (o.kind != Kind::Int || o.integer < 0)
      fail(std::string(what) + " is a " + out_.kind_name(i) + ", not a non-negative int");
    return static_cast<std::uint64_t>(o.integer);
  }
  std::vector<std::uint64_t> as_dims(std::size_t i, const char* what) {
    const Object& o = obj(i);
    if (o.kind != Kind::Tuple)
      fail(std::string(what) + " is a " + out_.kind_name(i) + ", not a tuple");
    if (o.items.size() > limits_.max_dims)
      fail(std::string(what) + " has " + std::to_string(o.items.size()) + " dimensions");
    std::vector<std::uint64_t> dims;
    for (const std::size_t d : o.items) dims.push_back(as_uint(d, what));
    return dims;
  }

  std::size_t tensor(const std::vector<std::size_t>& args, const char* fn) {
    const Object& storage = obj(args[0]);
    if (storage.kind != Kind::Storage)
      fail(std::string(fn) + ": first argument is a " + out_.kind_name(args[0]) +
           ", not a storage");
    TensorRef t;
    t.storage = static_cast<std::size_t>(storage.integer);
    t.dtype = out_.storages[t.storage].dtype;
    t.storage_offset = as_uint(args[1], "storage offset");
    t.shape = as_dims(args[2], "size");
    t.stride = as_dims(args[3], "stride");
    if (t.shape.size() != t.stride.size())
      fail(std::string(fn) + ": size has " + std::to_string(t.shape.size()) +
           " dimensions, stride " + std::to_string(t.stride.size()));
    if (args.size() > 4) {
      if (obj(args[4]).kind != Kind::Bool) fail(std::string(fn) + ": requires_grad is not a bool");
      t.requires_grad = obj(args[4]).integer != 0;
    }
    if (args.size() > 5) {
      // backward_hooks: torch writes an empty OrderedDict; any hook would be a function.
      const Object& hooks = obj(args[5]);
      if (hooks.kind != Kind::Dict || !hooks.items.empty())
        fail(std::string(fn) + ": backward hooks must be an empty dict");
    }
    out_.tensors.push_back(std::move(t));
    return scalar(Kind::Tensor, static_cast<std::int64_t>(out_.tensors.size() - 1));
  }

  void reduce() {
    const std::size_t args_i = pop("REDUCE");
    const std::size_t callable = pop("REDUCE");
    const Object& f = obj(callable);
    if (f.kind != Kind::Global)
      fail("REDUCE calls a " + out_.kind_name(callable) + ", not a global");
    if (obj(args_i).kind != Kind::Tuple) fail("REDUCE with arguments that are not a tuple");
    const std::vector<std::size_t> args = obj(args_i).items;
    switch (f.global) {
      case Global::OrderedDict: {
        if (!args.empty()) fail("collections.OrderedDict called with arguments");
        const std::size_t d = container(Kind::Dict, {});
        obj(d).ordered = true;
        push(d);
        return;
      }
      case Global::RebuildTensorV2:
        if (args.size() != 6 && args.size() != 7)
          fail("_rebuild_tensor_v2 with " + std::to_string(args.size()) + " arguments");
        if (args.size() == 7 && obj(args[6]).kind != Kind::None && obj(args[6]).kind != Kind::Dict)
          fail("_rebuild_tensor_v2: metadata is a " + out_.kind_name(args[6]));
        push(tensor(args, "_rebuild_tensor_v2"));
        return;
      case Global::RebuildTensorV3: {
        if (args.size() != 7 && args.size() != 8)
          fail("_rebuild_tensor_v3 with " + std::to_string(args.size()) + " arguments");
        const Object& dtype = obj(args[6]);
        if (dtype.kind != Kind::Global || dtype.global != Global::DtypeValue)
          fail("_rebuild_tensor_v3: dtype is a " + out_.kind_name(args[6]) + ", not a torch dtype");
        if (args.size() == 8 && obj(args[7]).kind != Kind::None && obj(args[7]).kind != Kind::Dict)
          fail("_rebuild_tensor_v3: metadata is a " + out_.kind_name(args[7]));
        const Dtype d = dtype.dtype;
        const std::size_t made = tensor(args, "_rebuild_tensor_v3");
        out_.tensors.back().dtype = d;
        push(made);
        return;
      }
      case Global::RebuildTensor:
        if (args.size() != 4)
          fail("_rebuild_tensor with " + std::to_string(args.size()) + " arguments");
        push(tensor(args, "_rebuild_tensor"));
        return;
      case Global::RebuildParameter:
      case Global::RebuildParameterWithState: {
        const std::size_t want = f.global == Global::RebuildParameter ? 3 : 4;
        if (args.size() != want)
          fail("_rebuild_parameter with " + std::to_string(args.size()) + " arguments");
        if (obj(args[0]).kind != Kind::Tensor)
          fail("_rebuild_parameter of a " + out_.kind_name(args[0]));
        if (obj(args[1]).kind != Kind::Bool)
          fail("_rebuild_parameter: requires_grad is not a bool");
        const Object& hooks = obj(args[2]);
        if (hooks.kind != Kind::Dict || !hooks.items.empty())
          fail("_rebuild_parameter: backward hooks must be an empty dict");
        TensorRef& t = out_.tensors[static_cast<std::size_t>(obj(args[0]).integer)];
        t.parameter = true;
        t.requires_grad = obj(args[1]).integer != 0;
        push(args[0]);
        return;
      }
      case Global::CodecsEncode: {
        if (args.size() != 2 || obj(args[0]).kind != Kind::Str || obj(args[1]).kind != Kind::Str ||
            obj(args[1]).text != "latin1")
          fail("_codecs.encode other than encode(str, 'latin1')");
        Object o;
        o.kind = Kind::Bytes;
        if (!utf8_to_latin1(obj(args[0]).text, o.text)) fail("_codecs.encode: not latin-1 text");
        push(make(std::move(o)));
        return;
      }
      case Global::StorageType:
        fail("REDUCE calls " + f.text + " (storages come only from persistent ids)");
      case Global::DtypeValue:
        fail("REDUCE calls torch." + f.text + ", a dtype");
    }
  }

  void build() {
    pop("BUILD");  // the state
    const std::size_t inst = top("BUILD");
    // torch's unpickler builds only Tensor, Parameter and OrderedDict; an OrderedDict's state is
    // its __dict__ (a state_dict's `_metadata` of module versions), which a loader has no use for.
    if (obj(inst).kind != Kind::Dict || !obj(inst).ordered)
      fail("BUILD on a " + out_.kind_name(inst) + " (only an OrderedDict may be built)");
  }

  void persistent_load() {
    const std::size_t pid = pop("BINPERSID");
    const Object& t = obj(pid);
    if (t.kind != Kind::Tuple || t.items.size() != 5)
      fail("persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    const std::vector<std::size_t> items = t.items;
    if (obj(items[0]).kind != Kind::Str || obj(items[0]).text != "storage")
      fail("persistent id is not a 'storage'");
    const Object& type = obj(items[1]);
    if (type.kind != Kind::Global || type.global != Global::StorageType)
      fail("persistent id's storage type is a " + out_.kind_name(items[1]) +
           ", not a torch storage class");
    if (obj(items[2]).kind != Kind::Str) fail("persistent id's key is not a str");
    if (obj(items[3]).kind != Kind::Str) fail("persistent id's location is not a str");
    StorageRef s;
    s.type = type.text;
    s.dtype = type.dtype;
    s.key = obj(items[2]).text;
    s.location = obj(items[3]).text;
    s.numel = as_uint(items[4], "storage numel");
    // One storage object per key, so that two tensors viewing one storage share it.
    const auto [it, inserted] = storage_by_key_.emplace(s.key, out_.storages.size());
    if (!inserted) {
      const StorageRef& had = out_.storages[it->second];
      if (had.type != s.type || had.numel != s.numel)
        fail("storage '" + s.key + "' declared twice with different types or sizes");
    } else {
      out_.storages.push_back(std::move(s));
    }
    push(scalar(Kind::Storage, static_cast<std::int64_t>(it->second)));
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80: {  // PROTO
        const std::uint64_t v = le(1, "PROTO");
        if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + " (2 to 5 are read)");
        return;
      }
      case 0x95:  // FRAME: a length hint; the opcodes simply follow
        if (le(8, "FRAME") > bytes_.size() - pos_) fail("FRAME longer than the remaining bytes");
        return;
      case '(':
        if (marks_.size() >= limits_.max_depth)
          fail("MARKs nested deeper than " + std::to_string(limits_.max_depth));
        marks_.push_back(stack_.size());
        return;
      case '0':
        pop("POP");
        return;
      case '1':
        pop_mark("POP_MARK");
        return;
      case '2':
        push(top("DUP"));
        return;
      case 'N':
        push(scalar(Kind::None));
        return;
      case 0x88:
        push(scalar(Kind::Bool, 1));
        return;
      case 0x89:
        push(scalar(Kind::Bool, 0));
        return;
      case 'J':
        push(scalar(Kind::Int, static_cast<std::int32_t>(le(4, "BININT"))));
        return;
      case 'K':
        push(scalar(Kind::Int, static_cast<std::int64_t>(le(1, "BININT1"))));
        return;
      case 'M':
        push(scalar(Kind::Int, static_cast<std::int64_t>(le(2, "BININT2"))));
        return;
      case 0x8a: {  // LONG1: n bytes, little-endian two's complement
        const std::uint64_t n = le(1, "LONG1");
        if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes (integers wider than 64 bits)");
        std::uint64_t v = n == 0 ? 0 : le(static_cast<std::size_t>(n), "LONG1");
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~std::uint64_t{0} << (8 * n);
        push(scalar(Kind::Int, static_cast<std::int64_t>(v)));
        return;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const auto s = take(8, "BINFLOAT");
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(s[i]);
        Object o;
        o.kind = Kind::Float;
        o.real = std::bit_cast<double>(v);
        push(make(std::move(o)));
        return;
      }
      case 'X':
        push(text(Kind::Str, le(4, "BINUNICODE"), "BINUNICODE"));
        return;
      case 0x8c:
        push(text(Kind::Str, le(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"));
        return;
      case 0x8d:
        push(text(Kind::Str, le(8, "BINUNICODE8"), "BINUNICODE8"));
        return;
      case 'B':
        push(text(Kind::Bytes, le(4, "BINBYTES"), "BINBYTES"));
        return;
      case 'C':
        push(text(Kind::Bytes, le(1, "SHORT_BINBYTES"), "SHORT_BINBYTES"));
        return;
      case 0x8e:
        push(text(Kind::Bytes, le(8, "BINBYTES8"), "BINBYTES8"));
        return;
      case '}':
        push(container(Kind::Dict, {}));
        return;
      case ']':
        push(container(Kind::List, {}));
        return;
      case ')':
        push(container(Kind::Tuple, {}));
        return;
      case 'd':
        push(container(Kind::Dict, pop_mark("DICT")));
        return;
      case 'l':
        push(container(Kind::List, pop_mark("LIST")));
        return;
      case 't':
        push(container(Kind::Tuple, pop_mark("TUPLE")));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84u;
        std::vector<std::size_t> items(n);
        for (std::size_t i = n; i-- > 0;) items[i] = pop("TUPLEn");
        push(container(Kind::Tuple, std::move(items)));
        return;
      }
      case 'a': {
        const std::size_t item = pop("APPEND");
        add_items(top("APPEND"), {item}, "APPEND");
        return;
      }
      case 'e': {
        std::vector<std::size_t> items = pop_mark("APPENDS");
        add_items(top("APPENDS"), items, "APPENDS");
        return;
      }
      case 's': {
        const std::size_t value = pop("SETITEM");
        const std::size_t key = pop("SETITEM");
        add_items(top("SETITEM"), {key, value}, "SETITEM");
        return;
      }
      case 'u': {
        std::vector<std::size_t> items = pop_mark("SETITEMS");
        add_items(top("SETITEMS"), items, "SETITEMS");
        return;
      }
      case 'q':
        memo_put(le(1, "BINPUT"));
        return;
      case 'r':
        memo_put(le(4, "LONG_BINPUT"));
        return;
      case 0x94:
        memo_put(memo_.size());
        return;  // MEMOIZE
      case 'h':
        memo_get(le(1, "BINGET"));
        return;
      case 'j':
        memo_get(le(4, "LONG_BINGET"));
        return;
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module(line("GLOBAL module"));
        const std::string_view name = line("GLOBAL name");
        push(global(module, name));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::size_t name = pop("STACK_GLOBAL");
        const std::size_t module = pop("STACK_GLOBAL");
        if (obj(module).kind != Kind::Str || obj(name).kind != Kind::Str)
          fail("STACK_GLOBAL of a non-str module or name");
        push(global(obj(module).text, obj(name).text));
        return;
      }
      case 'R':
        reduce();
        return;
      case 'b':
        build();
        return;
      case 'Q':
        persistent_load();
        return;
      case 0x81:
        fail("NEWOBJ refused (builds an instance of a class)");
      case 0x92:
        fail("NEWOBJ_EX refused (builds an instance of a class)");
      case 'i':
        fail("INST refused (builds an instance of a class)");
      case 'o':
        fail("OBJ refused (builds an instance of a class)");
      case 'P':
        fail("PERSID refused (text persistent ids are not what torch.save writes)");
      case 0x82:
      case 0x83:
      case 0x84:
        fail("EXT opcodes refused (the extension registry)");
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        fail(std::string("opcode 0x") + hex[op >> 4] + hex[op & 15] +
             " is not one torch.save writes for a state dict");
      }
    }
  }

  std::span<const std::byte> bytes_;
  const PickleLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t op_at_ = 0;
  std::uint64_t opcodes_ = 0;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, std::size_t> memo_;
  std::unordered_map<std::string, std::size_t> storage_by_key_;
  Pickle out_;
};

}  // namespace

bool torch_dtype(std::string_view name, Dtype& dtype) noexcept {
  for (const DtypeName& d : kDtypes) {
    if (d.name == name) {
      dtype = d.dtype;
      return true;
    }
  }
  return false;
}

bool storage_dtype(std::string_view type, Dtype& dtype) noexcept {
  for (const StorageName& s : kStorages) {
    if (s.name == type) {
      dtype = s.dtype;
      return true;
    }
  }
  return false;
}

std::string Pickle::kind_name(std::size_t object) const {
  const Object& o = objects[object];
  if (o.kind == Kind::Dict && o.ordered) return "OrderedDict";
  return kind_word(o.kind);
}

Pickle read_pickle(std::span<const std::byte> bytes, const PickleLimits& limits) {
  return Reader(bytes, limits).run();
}

}  // namespace stload::detail::pt

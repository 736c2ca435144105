// stload._stload: the C++ half of the Python module. The Python package (python/stload) builds the
// public API (load_file, safe_open, iter_tensors) on these few handles.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "buffer.hpp"
#include "export.hpp"
#include "select.hpp"
#include "stload/checkpoint.hpp"
#include "stload/convert.hpp"
#include "stload/dtype_rules.hpp"
#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "stload/hub.hpp"
#include "stload/loader.hpp"
#include "stload/tensor_parallel.hpp"
#include "stload/version.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace stload::python {
namespace {

Framework framework_from(const std::string& name) {
  if (name == "pt" || name == "torch") return Framework::Torch;
  if (name == "np" || name == "numpy") return Framework::Numpy;
  throw Error(ErrorCode::InvalidArgument,
              "framework '" + name + "' is not one of \"pt\" (torch) or \"np\" (numpy)");
}

// A Python object held from C++ code that may run without the GIL (LoadOptions is copied on the
// loading thread, arenas are released wherever the last owner goes): shared_ptr copies touch no
// Python refcount, and the last one takes the GIL to drop the reference. At interpreter shutdown
// the reference is left alone (leaked) rather than touched without a live interpreter.
std::shared_ptr<nb::object> hold(nb::object object) {
  return {new nb::object(std::move(object)), [](nb::object* held) noexcept {
            if (Py_IsInitialized() == 0) {
              static_cast<void>(held->release());
              delete held;
              return;
            }
            const nb::gil_scoped_acquire gil;
            delete held;
          }};
}

// LoadOptions::allocators from a Python callable (nbytes, alignment) -> (pointer, owner): called
// on the loading thread, which takes the GIL for it; the owner is kept until the arena goes.
// A Python exception becomes OutOfMemory (what an allocator failing means) with its message.
ArenaAllocator python_allocator(const std::string& device, nb::object callable) {
  std::shared_ptr<nb::object> function = hold(std::move(callable));
  return [function, device](std::uint64_t bytes, std::uint64_t alignment) {
    const nb::gil_scoped_acquire gil;
    std::uintptr_t data = 0;
    std::shared_ptr<nb::object> owner;
    try {
      const nb::object got = (*function)(bytes, alignment);
      const auto pair = nb::cast<std::tuple<std::uintptr_t, nb::object>>(got);
      data = std::get<0>(pair);
      owner = hold(std::get<1>(pair));
    } catch (const nb::python_error& e) {
      throw Error(ErrorCode::OutOfMemory, "the allocator for " + device + " raised: " + e.what());
    } catch (const nb::cast_error&) {
      throw Error(ErrorCode::InvalidArgument,
                  "the allocator for " + device + " did not return (pointer, owner)");
    }
    return CallerAllocation{reinterpret_cast<void*>(data), [owner]() mutable { owner.reset(); }};
  };
}

// A loaded model; its tensors are exported to Python without a copy.
class Model {
 public:
  explicit Model(LoadedModel model) : model_(std::move(model)) {}

  [[nodiscard]] std::size_t size() const noexcept { return model_.size(); }

  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(model_.size());
    for (const TensorView& view : model_.tensors()) out.push_back(view.name);
    return out;
  }

  [[nodiscard]] std::vector<std::string> dtypes() const {
    std::vector<std::string> out;
    out.reserve(model_.size());
    for (const TensorView& view : model_.tensors()) out.emplace_back(to_string(view.dtype));
    return out;
  }

  // Every tensor in checkpoint order, all sharing one owner.
  [[nodiscard]] nb::list export_all(const std::string& framework) const {
    const Framework fw = framework_from(framework);
    const nb::object owner = make_owner(model_);
    nb::list out;
    for (const TensorView& view : model_.tensors()) out.append(export_view(view, owner, fw));
    return out;
  }

  [[nodiscard]] nb::object export_one(const std::string& name, const std::string& framework) const {
    const Framework fw = framework_from(framework);
    return export_view(model_.at(name), make_owner(model_), fw);
  }

  // Where the loader put each tensor: exported tensors must point exactly here (zero copy).
  [[nodiscard]] std::vector<std::uintptr_t> pointers() const {
    std::vector<std::uintptr_t> out;
    for (const TensorView& view : model_.tensors())
      out.push_back(reinterpret_cast<std::uintptr_t>(view.data));
    return out;
  }

  // The tensor's bytes as the engine reads them back (through the device for GPU tensors).
  [[nodiscard]] nb::bytes read(const std::string& name) const {
    const TensorView& view = model_.at(name);
    std::string buffer(view.bytes, '\0');
    model_.read(view, std::as_writable_bytes(std::span(buffer.data(), buffer.size())));
    return nb::bytes(buffer.data(), buffer.size());
  }

 private:
  LoadedModel model_;
};

// An opened checkpoint: headers parsed and validated, files mapped, no data read.
class PyCheckpoint {
 public:
  // `path` is os.fsencode()'s bytes: a POSIX path is bytes, not necessarily UTF-8.
  // `merge`: load a directory of unrelated files as one checkpoint (OpenOptions::merge).
  PyCheckpoint(const nb::bytes& path, bool merge) {
    std::filesystem::path native(std::string(path.c_str(), path.size()));
    nb::gil_scoped_release release;
    checkpoint_ = std::make_shared<Checkpoint>(Checkpoint::open(native, OpenOptions{merge}));
  }

  // The choices open() made about which files to read (Checkpoint::notes()).
  [[nodiscard]] std::vector<std::string> notes() const {
    const auto notes = checkpoint_->notes();
    return {notes.begin(), notes.end()};
  }

  // Raw bytes, as given (os.fsdecode() turns them back into the str the caller would use).
  [[nodiscard]] std::vector<nb::bytes> files() const {
    std::vector<nb::bytes> out;
    for (const FileInfo& file : checkpoint_->files()) {
      const std::string& native = file.path.native();
      out.emplace_back(native.data(), native.size());
    }
    return out;
  }

  // (name, dtype, shape, file index) in checkpoint order.
  [[nodiscard]] nb::list tensors() const {
    nb::list out;
    for (const TensorRecord& record : checkpoint_->tensors()) {
      out.append(nb::make_tuple(record.info.name, std::string(to_string(record.info.dtype)),
                                nb::tuple(nb::cast(record.info.shape)), record.file));
    }
    return out;
  }

  [[nodiscard]] std::map<std::string, std::string> metadata() const {
    return checkpoint_->metadata();
  }

  [[nodiscard]] std::uint64_t total_bytes() const noexcept { return checkpoint_->total_bytes(); }

  // `destinations`: (name, device, pointer, bytes); `allocators`: (device, callable returning
  // (pointer, owner)), both checked on the Python side first (stload/_caller_memory.py).
  [[nodiscard]] Model load(std::optional<std::string> device_map,
                           std::optional<std::vector<std::string>> only, bool exact,
                           std::optional<std::size_t> file, bool host_only, bool allow_unmatched,
                           bool zero_copy, const nb::list& destinations, const nb::list& allocators,
                           std::uint64_t rank, std::uint64_t world, const nb::list& split,
                           const std::string& dtype) const {
    Selection selection{std::move(device_map),
                        std::move(only),
                        exact,
                        file,
                        host_only,
                        allow_unmatched,
                        zero_copy,
                        {},
                        {},
                        {},
                        {}};
    selection.tensor_parallel.rank = rank;
    selection.tensor_parallel.world = world;
    // `dtype`: stload/_api.py's text for dtype= (a dtype name or a JSON object of rules); "" none.
    if (!dtype.empty()) selection.dtype = parse_dtype_conversion(dtype);
    for (const nb::handle entry : split) {
      const auto [pattern, dim] = nb::cast<std::tuple<std::string, std::size_t>>(entry);
      selection.tensor_parallel.split.emplace_back(pattern, dim);
    }
    for (const nb::handle entry : destinations) {
      const auto [name, device, data, bytes] =
          nb::cast<std::tuple<std::string, std::string, std::uintptr_t, std::uint64_t>>(entry);
      selection.destinations.push_back(DestinationSpec{name, device, data, bytes});
    }
    for (const nb::handle entry : allocators) {
      const auto [device, callable] = nb::cast<std::tuple<std::string, nb::object>>(entry);
      selection.allocators.emplace_back(device, python_allocator(device, callable));
    }
    nb::gil_scoped_release release;
    const LoadOptions options = make_load_options(*checkpoint_, selection);
    return Model(stload::load(*checkpoint_, options));
  }

  // A read-only uint8 view of a tensor's bytes in the file mapping (for slicing without a load).
  [[nodiscard]] nb::object mapped(const std::string& name) const {
    const std::span<const std::byte> bytes = checkpoint_->tensor_bytes(checkpoint_->at(name));
    auto keep = std::make_unique<std::shared_ptr<Checkpoint>>(checkpoint_);
    nb::capsule owner(
        keep.get(), [](void* p) noexcept { delete static_cast<std::shared_ptr<Checkpoint>*>(p); });
    keep.release();  // NOLINT(bugprone-unused-return-value): the capsule owns it now
    static const std::uint8_t empty = 0;
    const void* data = bytes.empty() ? &empty : static_cast<const void*>(bytes.data());
    const std::size_t shape[1] = {bytes.size()};
    nb::ndarray<nb::numpy, const std::uint8_t, nb::ndim<1>> array(data, 1, shape, owner);
    return nb::cast(std::move(array));
  }

  // A tensor's element strides in its storage (a strided PyTorch view); empty when compact.
  [[nodiscard]] nb::tuple strides(const std::string& name) const {
    return nb::tuple(nb::cast(checkpoint_->at(name).info.strides));
  }

  // stload.convert: writes the checkpoint as safetensors at `out` (os.fsencode()'s bytes),
  // streamed from the files with the GIL released; returns what was written as a dict.
  [[nodiscard]] nb::dict convert_to(const nb::bytes& out, bool dedupe_tied,
                                    std::uint64_t shard_bytes) const {
    const std::filesystem::path native(std::string(out.c_str(), out.size()));
    ConvertOptions options;
    options.dedupe_tied = dedupe_tied;
    options.shard_bytes = shard_bytes;
    ConvertResult result;
    {
      nb::gil_scoped_release release;
      result = convert(*checkpoint_, native, options);
    }
    const auto as_bytes = [](const std::filesystem::path& p) {
      return nb::bytes(p.native().data(), p.native().size());
    };
    nb::list files;
    for (const auto& file : result.files) files.append(as_bytes(file));
    nb::dict d;
    d["files"] = files;
    d["index"] = result.index.empty() ? nb::object(nb::none()) : nb::object(as_bytes(result.index));
    d["tensors"] = result.tensors;
    d["bytes"] = result.bytes;
    d["tied"] = result.tied;
    d["seconds"] = result.seconds;
    return d;
  }

 private:
  std::shared_ptr<Checkpoint> checkpoint_;
};

// stload::Error becomes the Python exception class stload._errors picks for its code.
void translate_error(const std::exception_ptr& error, void* /*payload*/) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    try {
      const nb::object make = nb::module_::import_("stload._errors").attr("_from_code");
      // Messages quote paths, which need not be UTF-8: keep those bytes visible as \xNN.
      const char* what = e.what();
      const nb::object message = nb::steal(PyUnicode_DecodeUTF8(
          what, static_cast<Py_ssize_t>(std::strlen(what)), "backslashreplace"));
      if (!message.is_valid()) throw nb::python_error();
      const nb::object exception = make(std::string(to_string(e.code())), message);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
    } catch (nb::python_error& inner) {
      inner.restore();
    }
  }
}

}  // namespace
}  // namespace stload::python

NB_MODULE(_stload, m) {
  using namespace stload::python;
  m.doc() = "stload's C++ core; use the functions of the stload package instead.";
  m.attr("__version__") = STLOAD_VERSION_STRING;  // stload/version.h
  nb::register_exception_translator(&translate_error);

  nb::class_<Model>(m, "_Model")
      .def("__len__", &Model::size)
      .def("names", &Model::names)
      .def("dtypes", &Model::dtypes)
      .def("export_all", &Model::export_all, "framework"_a)
      .def("export_one", &Model::export_one, "name"_a, "framework"_a)
      .def("pointers", &Model::pointers)
      .def("read", &Model::read, "name"_a);

  nb::class_<PyCheckpoint>(m, "_Checkpoint")
      .def(nb::init<const nb::bytes&, bool>(), "path"_a, "merge"_a = false)
      .def("notes", &PyCheckpoint::notes)
      .def("files", &PyCheckpoint::files)
      .def("tensors", &PyCheckpoint::tensors)
      .def("metadata", &PyCheckpoint::metadata)
      .def("total_bytes", &PyCheckpoint::total_bytes)
      .def("load", &PyCheckpoint::load, "device_map"_a.none(), "only"_a.none(), "exact"_a,
           "file"_a.none(), "host_only"_a, "allow_unmatched"_a = false, "zero_copy"_a = false,
           "destinations"_a = nb::list(), "allocators"_a = nb::list(), "rank"_a = 0, "world"_a = 1,
           "split"_a = nb::list(), "dtype"_a = std::string())
      .def("mapped", &PyCheckpoint::mapped, "name"_a)
      .def("strides", &PyCheckpoint::strides, "name"_a)
      .def("convert", &PyCheckpoint::convert_to, "out"_a, "dedupe_tied"_a, "shard_bytes"_a);

  m.def("_parse_buffer", &parse_buffer, "data"_a,
        "Validates a safetensors file held in bytes (stload.torch.load, stload.numpy.load).");
  m.def("_live_models", &live_owners, "Owner capsules alive (tests).");
  // Bytes, not str: the cache path comes from the environment and need not be UTF-8 (_hub.py
  // decodes it with os.fsdecode).
  m.def(
      "_resolve_repo",
      [](const std::string& repo_id, const std::string& revision) {
        const std::string path = stload::resolve_repo(repo_id, revision).string();
        return nb::bytes(path.data(), path.size());
      },
      "repo_id"_a, "revision"_a, "The hub cache snapshot directory of a repo id, as bytes.");
  m.def(
      "_split_rule_set", [](const std::string& name) { return stload::split_rule_set(name); },
      "name"_a,
      "The (pattern, dimension) rules of a named split rule set (stload/tensor_parallel.hpp).");
  m.def("cuda_compiled_in", &stload::cuda_compiled_in,
        "True when this build has the CUDA engine compiled in.");
  m.def("cuda_device_count", &stload::cuda_device_count, "CUDA devices that answer (0 without).");
}

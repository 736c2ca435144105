#include "buffer.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstddef>
#include <span>
#include <string>

#include "stload/header.hpp"

namespace nb = nanobind;

namespace stload::python {

nb::tuple parse_buffer(const nb::bytes& data) {
  const std::span<const std::byte> file(static_cast<const std::byte*>(data.data()), data.size());
  // The bytes object is immutable and held by the caller, so the GIL can go while we parse.
  Header header;
  {
    nb::gil_scoped_release release;
    header = parse_header(file);
  }
  nb::dict metadata;
  for (const auto& [key, value] : header.metadata) metadata[nb::cast(key)] = nb::cast(value);
  nb::list tensors;
  for (const TensorInfo& info : header.tensors) {
    tensors.append(nb::make_tuple(info.name, std::string(to_string(info.dtype)),
                                  nb::tuple(nb::cast(info.shape)), header.data_offset + info.begin,
                                  header.data_offset + info.end));
  }
  return nb::make_tuple(metadata, tensors);
}

}  // namespace stload::python

// `stload inspect PATH [--json]`: what a checkpoint holds and where, from its headers alone.

#include <iostream>
#include <map>
#include <string>

#include "args.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "detail/rapidjson.hpp"  // first: RapidJSON's asserts throw instead of aborting
#include "json_string.hpp"
#include "report.hpp"
#include "stload/checkpoint.hpp"
#include "text.hpp"

#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

namespace stload::cli {
namespace {

struct DtypeTotal {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
};

std::map<Dtype, DtypeTotal> totals_by_dtype(const Checkpoint& checkpoint) {
  std::map<Dtype, DtypeTotal> totals;
  for (const TensorRecord& tensor : checkpoint.tensors()) {
    DtypeTotal& total = totals[tensor.info.dtype];
    ++total.count;
    total.bytes += tensor.bytes();
  }
  return totals;
}

void print_metadata(std::ostream& out, const std::map<std::string, std::string>& metadata) {
  if (metadata.empty()) {
    out << "  (none)\n";
    return;
  }
  for (const auto& [key, value] : metadata) {
    out << "  " << printable(key) << " = " << printable(value) << '\n';
  }
}

void print_human(std::ostream& out, const Checkpoint& checkpoint) {
  const auto files = checkpoint.files();
  Table tensors{{"name", "dtype", "shape", "bytes", "file", "offset"},
                {false, false, false, true, false, true},
                {}};
  tensors.rows.reserve(checkpoint.tensors().size());
  for (const TensorRecord& t : checkpoint.tensors()) {
    // A strided PyTorch view: its stride beside its shape, and `bytes` the storage it spans.
    const std::string shape =
        t.info.strided() ? format_shape(t.info.shape) + " stride " + format_shape(t.info.strides)
                         : format_shape(t.info.shape);
    tensors.rows.push_back({t.info.name, std::string(to_string(t.info.dtype)), shape,
                            std::to_string(t.bytes()), files[t.file].path.filename().string(),
                            std::to_string(t.offset)});
  }
  tensors.print(out);

  out << '\n';
  Table totals{{"dtype", "tensors", "bytes", ""}, {false, true, true, false}, {}};
  for (const auto& [dtype, total] : totals_by_dtype(checkpoint)) {
    totals.rows.push_back({std::string(to_string(dtype)), std::to_string(total.count),
                           std::to_string(total.bytes), format_bytes(total.bytes)});
  }
  totals.rows.push_back({"total", std::to_string(checkpoint.tensors().size()),
                         std::to_string(checkpoint.total_bytes()),
                         format_bytes(checkpoint.total_bytes())});
  totals.print(out);

  out << '\n';
  if (files.size() == 1) {
    out << "metadata:\n";
    print_metadata(out, files.front().metadata);
  } else {
    for (const FileInfo& file : files) {
      out << "metadata of " << printable(file.path.filename().string()) << ":\n";
      print_metadata(out, file.metadata);
    }
  }
}

using JsonWriter = rapidjson::Writer<rapidjson::OStreamWrapper>;

void write_string(JsonWriter& json, std::string_view text) {
  write_json_string(json, text);
}

void write_json(std::ostream& out, const Checkpoint& checkpoint) {
  rapidjson::OStreamWrapper stream(out);
  JsonWriter json(stream);
  json.StartObject();

  json.Key("files");
  json.StartArray();
  for (const FileInfo& file : checkpoint.files()) {
    json.StartObject();
    json.Key("path");
    write_string(json, file.path.string());
    if (!file.target.empty()) {
      json.Key("target");
      write_string(json, file.target.string());
    }
    json.Key("size");
    json.Uint64(file.size);
    json.Key("data_offset");
    json.Uint64(file.data_offset);
    json.Key("metadata");
    json.StartObject();
    for (const auto& [key, value] : file.metadata) {
      write_string(json, key);
      write_string(json, value);
    }
    json.EndObject();
    json.EndObject();
  }
  json.EndArray();

  json.Key("tensors");
  json.StartArray();
  for (const TensorRecord& t : checkpoint.tensors()) {
    json.StartObject();
    json.Key("name");
    write_string(json, t.info.name);
    json.Key("dtype");
    write_string(json, to_string(t.info.dtype));
    json.Key("shape");
    json.StartArray();
    for (const std::uint64_t dim : t.info.shape) json.Uint64(dim);
    json.EndArray();
    if (t.info.strided()) {  // element strides of a PyTorch view; `bytes` is its storage span
      json.Key("strides");
      json.StartArray();
      for (const std::uint64_t stride : t.info.strides) json.Uint64(stride);
      json.EndArray();
    }
    json.Key("bytes");
    json.Uint64(t.bytes());
    json.Key("file");
    json.Uint64(t.file);
    json.Key("offset");
    json.Uint64(t.offset);
    json.Key("data_offsets");
    json.StartArray();
    json.Uint64(t.info.begin);
    json.Uint64(t.info.end);
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();

  json.Key("totals");
  json.StartObject();
  json.Key("tensors");
  json.Uint64(checkpoint.tensors().size());
  json.Key("bytes");
  json.Uint64(checkpoint.total_bytes());
  json.Key("by_dtype");
  json.StartObject();
  for (const auto& [dtype, total] : totals_by_dtype(checkpoint)) {
    write_string(json, to_string(dtype));
    json.StartObject();
    json.Key("tensors");
    json.Uint64(total.count);
    json.Key("bytes");
    json.Uint64(total.bytes);
    json.EndObject();
  }
  json.EndObject();
  json.EndObject();

  json.Key("notes");
  json.StartArray();
  for (const std::string& note : checkpoint.notes()) write_string(json, note);
  json.EndArray();

  json.EndObject();
  out << '\n';
}

}  // namespace

int cmd_inspect(Args args) {
  const ParsedArgs parsed(args, {{"--json"}, kCheckpointOptionSpecs[0], kCheckpointOptionSpecs[1]});
  if (parsed.positional().size() != 1) throw UsageError("expected exactly one PATH");
  const std::string& path = parsed.positional().front();
  try {
    const Checkpoint checkpoint = open_checkpoint(path, parsed, std::cerr);
    if (parsed.has("--json")) {
      write_json(std::cout, checkpoint);
    } else {
      print_human(std::cout, checkpoint);
    }
    std::cout.flush();
  } catch (const UsageError&) {
    throw;  // --revision with a path: main prints the usage
  } catch (...) {
    return report_current_exception(path);
  }
  return kExitOk;
}

}  // namespace stload::cli

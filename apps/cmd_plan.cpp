// `stload plan PATH --capacity cuda:0=80GiB,... [--device-map MAP] [--json]`: what a load would
// put on each device, for devices of stated capacities that need not be here (no engine is made).

#include <iostream>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include "args.hpp"
#include "capacity_arg.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "detail/rapidjson.hpp"
#include "json_string.hpp"
#include "load_args.hpp"
#include "report.hpp"
#include "stload/checkpoint.hpp"
#include "stload/device_plan.hpp"
#include "text.hpp"

namespace stload::cli {
namespace {

const std::string& name_of(const Checkpoint& checkpoint, std::size_t tensor) {
  return checkpoint.tensors()[tensor].info.name;
}

void print_json(const std::string& path, const Checkpoint& checkpoint, const DevicePlan& result,
                bool automatic) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("path");
  write_json_string(json, path);
  json.Key("auto");
  json.Bool(automatic);
  json.Key("tensors");
  json.Uint64(result.plan.tensors.size());
  json.Key("bytes");
  json.Uint64(result.plan.tensor_bytes);
  json.Key("chunks");
  json.Uint64(result.plan.chunks.size());
  json.Key("chunk_bytes");
  json.Uint64(result.plan.chunk_bytes);
  json.Key("devices");
  json.StartArray();
  for (const DeviceUsage& usage : result.devices) {
    json.StartObject();
    json.Key("device");
    json.String(usage.device.to_string().c_str());
    json.Key("tensors");
    json.Uint64(usage.tensors);
    json.Key("tensor_bytes");
    json.Uint64(usage.tensor_bytes);
    json.Key("arena_bytes");
    json.Uint64(usage.arena_bytes);
    json.Key("capacity_bytes");
    json.Uint64(usage.capacity);
    json.Key("first_tensor");
    write_json_string(json, usage.tensors ? name_of(checkpoint, usage.first_tensor) : "");
    json.Key("last_tensor");
    write_json_string(json, usage.tensors ? name_of(checkpoint, usage.last_tensor) : "");
    json.EndObject();
  }
  json.EndArray();
  json.Key("notes");
  json.StartArray();
  for (const std::string& note : checkpoint.notes()) write_json_string(json, note);
  json.EndArray();
  json.EndObject();
  std::cout << buffer.GetString() << '\n';
}

void print_text(const std::string& path, const Checkpoint& checkpoint, const DevicePlan& result,
                bool automatic) {
  const LoadPlan& plan = result.plan;
  std::cout << printable(path) << ": " << plan.tensors.size() << " tensors, "
            << format_bytes(plan.tensor_bytes) << " (" << plan.tensor_bytes << " bytes) on "
            << result.devices.size() << " device(s), " << plan.chunks.size()
            << " chunks of at most " << format_bytes(plan.chunk_bytes) << '\n';
  Table table{{"device", "tensors", "tensor bytes", "arena bytes", "arena", "capacity", "used"},
              {false, true, true, true, true, true, true},
              {}};
  for (const DeviceUsage& usage : result.devices) {
    const double used = usage.capacity == 0 ? 0.0
                                            : 100.0 * static_cast<double>(usage.arena_bytes) /
                                                  static_cast<double>(usage.capacity);
    std::string percent = std::to_string(used);
    percent = percent.substr(0, percent.find('.') + 2) + "%";
    table.rows.push_back({usage.device.to_string(), std::to_string(usage.tensors),
                          std::to_string(usage.tensor_bytes), std::to_string(usage.arena_bytes),
                          format_bytes(usage.arena_bytes), format_bytes(usage.capacity), percent});
  }
  table.print(std::cout);
  if (!automatic) return;
  // An auto map fills devices in file order: each one holds a run of tensors, and where one run
  // ends the model spilled to the next device.
  std::cout << "auto: devices filled in file order\n";
  for (const DeviceUsage& usage : result.devices) {
    std::cout << "  " << usage.device.to_string() << ": "
              << printable(name_of(checkpoint, usage.first_tensor)) << " .. "
              << printable(name_of(checkpoint, usage.last_tensor)) << '\n';
  }
}

}  // namespace

int cmd_plan(Args args) {
  std::vector<OptionSpec> specs{{"--capacity", true},         {"--device-map", true},
                                {"--chunk-mib", true},        {"--only", true},
                                {"--allow-unmatched", false}, {"--json", false}};
  specs.insert(specs.end(), std::begin(kCheckpointOptionSpecs), std::end(kCheckpointOptionSpecs));
  const ParsedArgs parsed(args, std::span<const OptionSpec>(specs));
  if (parsed.positional().size() != 1) throw UsageError("plan takes exactly one PATH");
  const auto capacity = parsed.value("--capacity");
  if (!capacity) throw UsageError("plan needs --capacity DEVICE=SIZE[,DEVICE=SIZE...]");
  const std::string& path = parsed.positional().front();
  DevicePlanOptions options;
  options.capacity = parse_capacities(*capacity);
  try {
    // The load options' own parser, so --device-map, --chunk-mib and --only read as for load.
    LoadOptions load_options = load_options_from(parsed);
    options.device_map = load_options.device_map;
    options.filter = std::move(load_options.filter);
    options.only = std::move(load_options.only);
    options.allow_unmatched = load_options.allow_unmatched;
    options.chunk_bytes = load_options.chunk_bytes;
    const Checkpoint checkpoint = open_checkpoint(path, parsed, std::cerr);
    const DevicePlan result = plan_for_devices(checkpoint, options);
    const bool automatic = options.device_map.is_automatic();
    if (parsed.has("--json")) {
      print_json(path, checkpoint, result, automatic);
    } else {
      print_text(path, checkpoint, result, automatic);
    }
    return kExitOk;
  } catch (const UsageError&) {
    throw;  // --revision with a path: main prints the usage
  } catch (...) {
    return report_current_exception(path);
  }
}

}  // namespace stload::cli

// `stload doctor [--json]`: what CUDA this machine offers stload and, in one line, whether the
// CUDA engine can run and why not. The verdict is cuda_report()'s, the one the CPU-engine
// fallback note and the gpu tests' skip messages print too.

#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "detail/rapidjson.hpp"  // first: RapidJSON's asserts throw instead of aborting
#include "report.hpp"
#include "stload/cuda_info.hpp"
#include "text.hpp"

#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include "stload/version.h"

namespace stload::cli {
namespace {

std::string compute_capability(const CudaDeviceInfo& device) {
  return std::to_string(device.compute_major) + "." + std::to_string(device.compute_minor);
}

std::string describe_link(const PcieLink& link) {
  if (link.current_speed.empty() && link.current_width == 0) return "PCIe link " + link.source;
  std::ostringstream out;
  out << "PCIe link";
  if (link.generation > 0) out << " gen " << link.generation;
  if (link.current_width > 0) out << " x" << link.current_width;
  out << " (" << link.current_speed << "; max " << link.max_speed << " x" << link.max_width
      << "; from " << link.source << ", the current speed drops while the GPU idles)";
  return out.str();
}

void print_human(std::ostream& out, const CudaReport& report) {
  out << "stload " << STLOAD_VERSION_STRING << '\n';
  if (!report.compiled_in) {
    out << "CUDA runtime: not compiled in\n";
  } else {
    out << "CUDA runtime (compiled in): " << format_cuda_version(report.runtime_version) << " ("
        << report.runtime_version << ")\n";
    out << "CUDA driver: "
        << (report.driver_version > 0
                ? "supports CUDA " + format_cuda_version(report.driver_version) + " (" +
                      std::to_string(report.driver_version) + ")"
                : std::string("none found"))
        << '\n';
    if (!report.kernel_module.empty()) {
      out << "kernel module: " << printable(report.kernel_module) << '\n';
    }
    out << "CUDA_VISIBLE_DEVICES: " << printable(report.visible_devices) << '\n';
    out << "devices: " << report.device_count << '\n';
  }
  for (const CudaDeviceInfo& device : report.devices) {
    out << "  cuda:" << device.index << "  ";
    if (!device.error.empty()) {
      out << printable(device.error) << '\n';
      continue;
    }
    out << printable(device.name) << ", compute capability " << compute_capability(device) << ", "
        << device.multiprocessors << " SMs, " << format_bytes(device.total_bytes) << " total, ";
    if (device.memory_error.empty()) {
      out << format_bytes(device.free_bytes) << " free\n";
    } else {
      out << "free unknown (" << printable(device.memory_error) << ")\n";
    }
    out << "          PCI " << device.pci_bus_id << ", " << printable(describe_link(device.link))
        << '\n';
  }
  out << "CUDA engine: "
      << (report.usable() ? "" : "NOT usable (" + std::string(to_string(report.status)) + "): ")
      << printable(report.reason) << '\n';
}

using JsonWriter = rapidjson::Writer<rapidjson::OStreamWrapper>;

void write_string(JsonWriter& json, std::string_view text) {
  json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_link(JsonWriter& json, const PcieLink& link) {
  json.StartObject();
  json.Key("current_speed");
  write_string(json, link.current_speed);
  json.Key("current_width");
  json.Int(link.current_width);
  json.Key("max_speed");
  write_string(json, link.max_speed);
  json.Key("max_width");
  json.Int(link.max_width);
  json.Key("generation");
  json.Int(link.generation);
  json.Key("source");
  write_string(json, link.source);
  json.EndObject();
}

void write_device(JsonWriter& json, const CudaDeviceInfo& device) {
  json.StartObject();
  json.Key("index");
  json.Int(device.index);
  json.Key("name");
  write_string(json, device.name);
  json.Key("compute_capability");
  write_string(json, compute_capability(device));
  json.Key("multiprocessors");
  json.Int(device.multiprocessors);
  json.Key("total_bytes");
  json.Uint64(device.total_bytes);
  json.Key("free_bytes");
  json.Uint64(device.free_bytes);
  json.Key("pci_bus_id");
  write_string(json, device.pci_bus_id);
  json.Key("pcie_link");
  write_link(json, device.link);
  json.Key("error");
  write_string(json, device.error);
  json.Key("memory_error");
  write_string(json, device.memory_error);
  json.EndObject();
}

void write_json(std::ostream& out, const CudaReport& report) {
  rapidjson::OStreamWrapper stream(out);
  JsonWriter json(stream);
  json.StartObject();
  json.Key("stload_version");
  json.String(STLOAD_VERSION_STRING);
  json.Key("compiled_in");
  json.Bool(report.compiled_in);
  json.Key("runtime_version");
  json.Int(report.runtime_version);
  json.Key("runtime");
  write_string(json, format_cuda_version(report.runtime_version));
  json.Key("driver_version");
  json.Int(report.driver_version);
  json.Key("driver");
  write_string(json, format_cuda_version(report.driver_version));
  json.Key("kernel_module");
  write_string(json, report.kernel_module);
  json.Key("visible_devices");
  write_string(json, report.visible_devices);
  json.Key("device_count");
  json.Int(report.device_count);
  json.Key("status");
  write_string(json, to_string(report.status));
  json.Key("usable");
  json.Bool(report.usable());
  json.Key("reason");
  write_string(json, report.reason);
  json.Key("devices");
  json.StartArray();
  for (const CudaDeviceInfo& device : report.devices) write_device(json, device);
  json.EndArray();
  json.EndObject();
  out << '\n';
}

}  // namespace

int cmd_doctor(Args args) {
  const ParsedArgs parsed(args, {{"--json"}});
  if (!parsed.positional().empty()) throw UsageError("doctor takes no PATH");
  try {
    const CudaReport report = cuda_report(CudaDetail::Devices);
    if (parsed.has("--json")) {
      write_json(std::cout, report);
    } else {
      print_human(std::cout, report);
    }
    std::cout.flush();
    return report.usable() ? kExitOk : kExitFailure;
  } catch (...) {
    return report_current_exception("doctor");
  }
}

}  // namespace stload::cli

#pragma once
/// @file
/// @brief What CUDA this process can use, and why not: the compiled-in runtime, the driver, each
/// device. One place computes the verdict; `stload doctor`, the CPU-engine fallback note and the
/// gpu tests' skip messages all print it, so a broken setup is never mistaken for "no GPU here".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stload {

/// @brief Why the CUDA engine can or cannot run here.
enum class CudaStatus : std::uint8_t {
  Usable,         ///< a driver answers and at least one device is visible
  NotCompiledIn,  ///< this build has no CUDA engine
  NoDriver,       ///< no CUDA driver could be loaded (libcuda.so.1 missing or unusable)
  DriverTooOld,   ///< the driver's CUDA version is older than this build's runtime needs
  NoDevice,       ///< the driver answers but no device is visible
  Error,          ///< the runtime failed otherwise (devices busy, driver/kernel mismatch, ...)
};

/// @brief "usable", "not-compiled-in", "no-driver", "driver-too-old", "no-device", "error".
[[nodiscard]] std::string_view to_string(CudaStatus status) noexcept;

/// @brief A CUDA version number as the runtime encodes it (1000 * major + 10 * minor), e.g.
/// 13000 -> "13.0", 12040 -> "12.4"; 0 -> "none".
[[nodiscard]] std::string format_cuda_version(int version);

/// @brief The host side of a device's PCIe link, read from sysfs; empty fields when unreadable.
struct PcieLink {
  std::string current_speed;  ///< e.g. "32.0 GT/s PCIe" (gen 5); drops while the GPU idles
  int current_width = 0;      ///< lanes, e.g. 16
  std::string max_speed;      ///< what the link can do
  int max_width = 0;
  int generation = 0;  ///< from current_speed: 2.5 GT/s = 1 ... 64 GT/s = 6; 0 if unknown
  std::string source;  ///< the sysfs folder read, or why nothing could be (and where to look)
};

/// @brief One visible device.
struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0;  ///< 0 when memory_error says why it is unknown
  std::string pci_bus_id;        ///< "0000:17:00.0" (domain:bus:device.function), lower case
  PcieLink link;
  std::string error;         ///< non-empty: the properties could not be read, why
  std::string memory_error;  ///< non-empty: free memory could not be read, why
};

/// @brief What `cuda_report` found.
struct CudaReport {
  bool compiled_in = false;
  int runtime_version = 0;  ///< the CUDA runtime this build links (0 without CUDA)
  int driver_version = 0;   ///< the CUDA version the installed driver supports (0: no driver)
  /// The loaded kernel module's line from /proc/driver/nvidia/version (its release, e.g.
  /// 580.159.03, which the runtime API does not tell); empty when that file is absent.
  std::string kernel_module;
  int device_count = 0;                     ///< visible devices
  std::string visible_devices = "(unset)";  ///< CUDA_VISIBLE_DEVICES as set
  CudaStatus status = CudaStatus::NotCompiledIn;
  std::string reason;  ///< one line: why usable or not, with the error and versions
  std::vector<CudaDeviceInfo> devices;  ///< filled only when asked for (CudaDetail::Devices)

  [[nodiscard]] bool usable() const noexcept { return status == CudaStatus::Usable; }
};

/// @brief How much cuda_report asks. Summary creates no CUDA context (versions and device count
/// only) and is cheap; Devices also reads each device's properties and free memory, which
/// initialises a context on every visible device.
enum class CudaDetail : std::uint8_t { Summary, Devices };

/// @brief Queries the CUDA runtime (when compiled in). Never throws for a missing or broken
/// driver: that is what the report is for. The caller's current device is left unchanged and no
/// error of ours is left behind for the caller's next cudaGetLastError().
[[nodiscard]] CudaReport cuda_report(CudaDetail level = CudaDetail::Summary);

}  // namespace stload

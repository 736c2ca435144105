// Header-parse benchmark: how fast stload turns a safetensors header into tensor records.
//
// For each tensor count it builds, in memory, the header a real checkpoint of that many tensors
// would have (MoE decoder names, BF16, realistic 2-D shapes and offsets) and times
// parse_header(prefix, file_size): the data section is never materialized, only its size is given.
// With --write-dir it also writes the same tensor names as real files whose tensors are shape [1]
// (so each file is almost all header) and times Checkpoint::open on them, warm page cache.
//
// Every measurement is a batch of calls sized to last about --min-batch-ms, repeated --reps times;
// the median, min and max of the per-call wall time are printed, and one JSON line at the end.
// The median process CPU time per call is reported too: on a shared machine wall time includes
// waiting for a core, CPU time does not.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/header.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::size_t> counts = {1'000, 100'000};
  int reps = 7;
  double min_batch_ms = 50.0;
  fs::path write_dir;
};

struct TensorSpec {
  std::string name;
  std::uint64_t rows = 1;
  std::uint64_t cols = 1;
};

// Names and shapes of an MoE decoder (Mixtral / DeepSeek style): that is how real checkpoints reach
// 100k tensors. Hidden 4096, 64 experts of width 1408 per layer; layers are added until `count`.
std::vector<TensorSpec> model_tensors(std::size_t count) {
  constexpr std::uint64_t kHidden = 4096;
  constexpr std::uint64_t kExpertWidth = 1408;
  constexpr int kExperts = 64;
  std::vector<TensorSpec> out;
  out.reserve(count);
  auto add = [&](std::string name, std::uint64_t rows, std::uint64_t cols) {
    if (out.size() < count) out.push_back({std::move(name), rows, cols});
  };
  add("model.embed_tokens.weight", 32000, kHidden);
  for (int layer = 0; out.size() < count; ++layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    add(p + "input_layernorm.weight", 1, kHidden);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      add(p + "self_attn." + proj + ".weight", kHidden, kHidden);
    }
    add(p + "post_attention_layernorm.weight", 1, kHidden);
    add(p + "mlp.gate.weight", kExperts, kHidden);
    for (int e = 0; e < kExperts; ++e) {
      const std::string q = p + "mlp.experts." + std::to_string(e) + ".";
      add(q + "gate_proj.weight", kExpertWidth, kHidden);
      add(q + "up_proj.weight", kExpertWidth, kHidden);
      add(q + "down_proj.weight", kHidden, kExpertWidth);
    }
  }
  return out;
}

struct Built {
  std::vector<std::byte> prefix;  // 8-byte length + header JSON (space-padded to 8)
  std::uint64_t data_size = 0;
};

// realistic: the tensors' own shapes; otherwise every tensor is BF16 [1] (2 bytes of data).
Built build_file_prefix(const std::vector<TensorSpec>& tensors, bool realistic) {
  std::string json = R"({"__metadata__":{"format":"pt"})";
  json.reserve(tensors.size() * 110);
  std::uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    const std::uint64_t bytes = realistic ? t.rows * t.cols * 2 : 2;
    json += ",\"" + t.name + R"(":{"dtype":"BF16","shape":[)";
    json += realistic ? std::to_string(t.rows) + "," + std::to_string(t.cols) : "1";
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) +
            "]}";
    offset += bytes;
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');
  Built out;
  out.data_size = offset;
  out.prefix.resize(8 + json.size());
  for (std::size_t i = 0; i < 8; ++i) {
    out.prefix[i] = static_cast<std::byte>((json.size() >> (8U * i)) & 0xFFU);
  }
  std::transform(json.begin(), json.end(), out.prefix.begin() + 8,
                 [](char c) { return static_cast<std::byte>(c); });
  return out;
}

struct Stats {
  double median = 0;
  double min = 0;
  double max = 0;
  double cpu_median = 0;
  std::size_t calls_per_rep = 0;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Seconds per call of `fn`: batches long enough to time reliably, `reps` of them.
Stats measure(const Options& options, const std::function<void()>& fn) {
  fn();  // warm-up: page cache, allocator, branch predictors
  std::size_t batch = 1;
  for (;;) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) fn();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (ms >= options.min_batch_ms || batch >= (1U << 20U)) break;
    batch *= 2;
  }
  std::vector<double> per_call;
  std::vector<double> cpu_per_call;
  for (int r = 0; r < options.reps; ++r) {
    const double cpu_start = process_cpu_seconds();
    const auto start = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) fn();
    const auto stop = Clock::now();
    const auto calls = static_cast<double>(batch);
    per_call.push_back(std::chrono::duration<double>(stop - start).count() / calls);
    cpu_per_call.push_back((process_cpu_seconds() - cpu_start) / calls);
  }
  const auto [min, max] = std::minmax_element(per_call.begin(), per_call.end());
  return {median_of(per_call), *min, *max, median_of(cpu_per_call), batch};
}

std::string json_result(const char* mode, std::size_t tensors, std::size_t header_bytes,
                        const Stats& s, const std::string& file) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                R"({"mode":"%s","tensors":%zu,"header_bytes":%zu,"median_s":%.9g,"min_s":%.9g,)"
                R"("max_s":%.9g,"cpu_median_s":%.9g,"calls_per_rep":%zu,"mb_per_s":%.6g,)"
                R"("tensors_per_s":%.6g)",
                mode, tensors, header_bytes, s.median, s.min, s.max, s.cpu_median, s.calls_per_rep,
                static_cast<double>(header_bytes) / s.median / 1e6,
                static_cast<double>(tensors) / s.median);
  std::string out = buf;
  if (!file.empty()) out += R"(,"file":")" + file + "\"";  // our own paths: no quotes to escape
  return out + "}";
}

void print_row(const char* mode, std::size_t tensors, std::size_t header_bytes, const Stats& s) {
  std::printf(
      "%-16s %7zu tensors %6.2f MB header  median %9.3f ms  min %9.3f  max %9.3f"
      "  cpu %9.3f ms  %7.1f MB/s  %10.0f tensors/s\n",
      mode, tensors, static_cast<double>(header_bytes) / 1e6, s.median * 1e3, s.min * 1e3,
      s.max * 1e3, s.cpu_median * 1e3, static_cast<double>(header_bytes) / s.median / 1e6,
      static_cast<double>(tensors) / s.median);
  std::fflush(stdout);
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--tensors N[,N...]] [--reps R] [--min-batch-ms MS] [--write-dir DIR]\n",
               argv0);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    const std::string value = argv[++i];
    if (arg == "--tensors") {
      o.counts.clear();
      for (std::size_t pos = 0; pos <= value.size();) {
        const std::size_t comma = std::min(value.find(',', pos), value.size());
        o.counts.push_back(std::stoul(value.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (arg == "--reps") {
      o.reps = std::max(1, std::stoi(value));
    } else if (arg == "--min-batch-ms") {
      o.min_batch_ms = std::stod(value);
    } else if (arg == "--write-dir") {
      o.write_dir = value;
    } else {
      usage(argv[0]);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_args(argc, argv);
  std::vector<std::string> results;
  try {
    for (const std::size_t count : options.counts) {
      const auto tensors = model_tensors(count);

      const Built real = build_file_prefix(tensors, true);
      const std::uint64_t file_size = real.prefix.size() + real.data_size;
      std::size_t parsed = 0;
      const Stats parse = measure(
          options, [&] { parsed = stload::parse_header(real.prefix, file_size).tensors.size(); });
      if (parsed != count) throw std::runtime_error("parse_header returned the wrong tensor count");
      print_row("parse_header", count, real.prefix.size() - 8, parse);
      results.push_back(json_result("parse_header", count, real.prefix.size() - 8, parse, ""));

      if (options.write_dir.empty()) continue;
      fs::create_directories(options.write_dir);
      const fs::path path =
          options.write_dir / ("header-" + std::to_string(count) + ".safetensors");
      const Built tiny = build_file_prefix(tensors, false);
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(tiny.prefix.data()),
                  static_cast<std::streamsize>(tiny.prefix.size()));
        const std::vector<char> data(tiny.data_size, 0);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        if (!out) throw std::runtime_error("cannot write " + path.string());
      }
      std::size_t opened = 0;
      const Stats open =
          measure(options, [&] { opened = stload::Checkpoint::open(path).tensors().size(); });
      if (opened != count)
        throw std::runtime_error("Checkpoint::open found the wrong tensor count");
      print_row("checkpoint_open", count, tiny.prefix.size() - 8, open);
      results.push_back(
          json_result("checkpoint_open", count, tiny.prefix.size() - 8, open, path.string()));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_header_parse: %s\n", e.what());
    return 1;
  }
  std::string line =
      R"({"bench":"header_parse","reps":)" + std::to_string(options.reps) + R"(,"results":[)";
  for (std::size_t i = 0; i < results.size(); ++i) line += (i ? "," : "") + results[i];
  std::printf("%s]}\n", line.c_str());
  return 0;
}

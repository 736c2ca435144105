#pragma once
// Shared by the concurrent-load tests of every engine: run loads on threads released together,
// and say what a loaded model gets wrong against its file.

#include <algorithm>
#include <cstddef>
#include <exception>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "stload/checkpoint.hpp"
#include "stload/tensor_map.hpp"

namespace stload::testing {

/// What differs between a loaded model and its file; empty when every tensor matches.
inline std::string differences(const LoadedModel& model, const Checkpoint& checkpoint) {
  if (model.size() != checkpoint.tensors().size()) {
    return std::to_string(model.size()) + " tensors loaded of " +
           std::to_string(checkpoint.tensors().size());
  }
  std::vector<std::byte> out;
  for (const TensorView& view : model.tensors()) {
    const TensorRecord* record = checkpoint.find(view.name);
    if (record == nullptr) return view.name + " is not in the file";
    out.assign(view.bytes, std::byte{0});
    model.read(view, out);
    const auto expected = checkpoint.tensor_bytes(*record);
    if (!std::equal(out.begin(), out.end(), expected.begin(), expected.end())) {
      return view.name + ": bytes differ from the file's";
    }
  }
  return {};
}

/// Runs `load_one(i)` for i in [0, threads) on threads released together by a latch; returns what
/// each reported ("threw: ..." for an exception), for the main thread to assert on.
template <class F>
std::vector<std::string> run_together(int threads, F load_one) {
  std::vector<std::string> results(static_cast<std::size_t>(threads));
  std::latch start(threads);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          results[static_cast<std::size_t>(i)] = load_one(i);
        } catch (const std::exception& e) {
          results[static_cast<std::size_t>(i)] = std::string("threw: ") + e.what();
        }
      });
    }
  }
  return results;
}

}  // namespace stload::testing

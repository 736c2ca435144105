#pragma once
// A one-line progress bar on stderr, redrawn at most ten times a second, and only when stderr is
// a terminal: logs and pipes get the final summary alone.

#include <chrono>
#include <cstdint>
#include <functional>

#include "stload/loader.hpp"

namespace stload::cli {

class ProgressBar {
 public:
  ProgressBar();
  /// The callback to put in LoadOptions::progress (empty when stderr is not a terminal).
  [[nodiscard]] std::function<bool(const Progress&)> callback();
  /// Clears the bar's line, if one was drawn.
  void finish();

 private:
  void draw(const Progress& progress);

  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace stload::cli

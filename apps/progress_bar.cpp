#include "progress_bar.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace stload::cli {

ProgressBar::ProgressBar()
    : enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::function<bool(const Progress&)> ProgressBar::callback() {
  if (!enabled_) return {};
  return [this](const Progress& progress) {
    draw(progress);
    return true;
  };
}

void ProgressBar::draw(const Progress& progress) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = progress.bytes_done == progress.bytes_total;
  if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 40;
  const double fraction = progress.bytes_total == 0 ? 1.0
                                                    : static_cast<double>(progress.bytes_done) /
                                                          static_cast<double>(progress.bytes_total);
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double gbps = seconds > 0 ? static_cast<double>(progress.bytes_done) / seconds / 1e9 : 0.0;
  std::fprintf(stderr, "\r[%s%s] %5.1f%%  %.2f GB/s  file %zu",
               std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(kWidth - filled), ' ').c_str(),
               fraction * 100.0, gbps, progress.file + 1);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r%*s\r", 80, "");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace stload::cli

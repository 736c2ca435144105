#pragma once
// The engine-agnostic heart of a load: reader threads fill a ring of staging slots from the files,
// the engine copies each slot to its arena asynchronously, and a slot is reused only once its copy
// has completed. Order, back-pressure, errors and cancellation live here, not in the engines.

#include <cstddef>
#include <memory>
#include <vector>

#include "checkpoint_impl.hpp"
#include "io/file_source.hpp"  // set_pread_for_testing, for the fault-injection tests
#include "stload/loader.hpp"

namespace stload::detail {

struct PipelineFigures {
  std::uint64_t staging_bytes = 0;
  std::uint64_t peak_rss_anon_bytes = 0;
  std::uint64_t peak_rss_file_bytes = 0;
  double setup_seconds = 0;  // staging ring and copy session
  double copy_seconds = 0;
  std::uint64_t files_read_by_mmap = 0;
  std::uint64_t files_read_by_pread = 0;
  std::uint64_t files_read_by_direct = 0;
  std::uint64_t files_direct_fallback = 0;
};

/// Checks the options the pipeline depends on, so a bad one fails before anything is allocated:
/// the staging budget must hold one chunk (checked in every mode, so that whether a load is
/// valid does not depend on which arenas happen to be written directly). Throws InvalidArgument.
void check_pipeline_options(const LoadOptions& options);

/// Runs every chunk of `plan` into `arenas` (parallel to plan.arenas). On any failure it stops the
/// readers, waits for copies in flight, releases the staging ring and rethrows one Error.
PipelineFigures run_pipeline(const Checkpoint::Impl& checkpoint, const LoadPlan& plan,
                             std::vector<std::unique_ptr<Buffer>>& arenas, CopyEngine& engine,
                             const LoadOptions& options);

}  // namespace stload::detail

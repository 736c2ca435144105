// `stload validate PATH...`: opens each checkpoint (which checks every header rule) and says OK or
// why not. Goes through every path even after a failure, so one run reports them all.

#include <algorithm>
#include <iostream>

#include "args.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "stload/checkpoint.hpp"
#include "text.hpp"

namespace stload::cli {

int cmd_validate(Args args) {
  const ParsedArgs parsed(args, std::span<const OptionSpec>(kCheckpointOptionSpecs));
  if (parsed.positional().empty()) throw UsageError("no PATH given");

  int status = kExitOk;
  for (const std::string& path : parsed.positional()) {
    try {
      const Checkpoint checkpoint = open_checkpoint(path, parsed, std::cerr);
      std::cout << printable(path) << ": OK (" << checkpoint.tensors().size() << " tensors, "
                << checkpoint.total_bytes() << " bytes)" << std::endl;
    } catch (const UsageError&) {
      throw;  // --revision with a path: main prints the usage
    } catch (...) {
      // A missing path (2) outranks an invalid one (1): the run was asked about something absent.
      status = std::max(status, report_current_exception(path));
    }
  }
  return status;
}

}  // namespace stload::cli

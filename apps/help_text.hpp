#pragma once
// The longer help of `stload help <command>`: what each option does and its default, so that the
// CLI documents itself (README's CLI reference says the same).

namespace stload::cli {

inline constexpr const char* kNoDetails = "";

// What PATH may be, for every command that reads a checkpoint (a macro so that string literals
// can be joined with it at compile time).
#define STLOAD_CLI_CHECKPOINT_HELP                                                               \
  "PATH is a .safetensors file, a *.index.json, or a directory (X.safetensors beside its\n"      \
  "index wins, as in transformers; several files without an index load only when they are\n"     \
  "one shard set P-00001-of-0000N.safetensors). A PATH that does not exist and reads ORG/NAME\n" \
  "is a repo id: its snapshot in the local Hugging Face hub cache (HF_HUB_CACHE, else\n"         \
  "$HF_HOME/hub, else ~/.cache/huggingface/hub), never downloaded. Notes on what was chosen\n"   \
  "go to stderr.\n"                                                                              \
  "  --revision REV              with a repo id: a ref (branch, tag) or a commit hash\n"         \
  "                              (default main)\n"                                               \
  "  --merge                     load every *.safetensors of a directory without an index as\n"  \
  "                              one checkpoint, even when they are not one shard set\n"

inline constexpr const char* kCheckpointHelp = STLOAD_CLI_CHECKPOINT_HELP;

inline constexpr const char* kInspectHelp =
    "  --json                      one JSON object (files, tensors, totals, notes) instead\n"
    "\n" STLOAD_CLI_CHECKPOINT_HELP;

inline constexpr const char* kLoadOptionsHelp =
    "load options:\n"
    "  --engine auto|cpu|cuda      copy engine (default auto: CUDA when a device is usable,\n"
    "                              else the CPU engine, saying so once)\n"
    "  --device-map MAP            where tensors go: a device (cuda:0, cpu, cpu:1), 'auto'\n"
    "                              (fill devices in file order within their free memory), or a\n"
    "                              JSON object of name patterns (as --only) to devices,\n"
    "                              e.g. '{\"model.layers.0\": \"cuda:0\", \"\": \"cuda:1\"}'\n"
    "                              (default: everything on cuda:0, or cpu:0 for the CPU engine)\n"
    "  --staging-mib N             host staging budget, all slots together (default 256)\n"
    "  --chunk-mib N               largest single copy, one staging slot (default 64)\n"
    "  --streams N                 copy queues (CUDA streams) per load (default 2)\n"
    "  --threads N                 reader threads (default 2)\n"
    "  --only P[,P...]             load only tensors these patterns match: an exact name, a\n"
    "                              dotted module prefix (model.layers.1, not .10), or a glob\n"
    "                              whose * stays within one dotted segment (model.layers.*.mlp);\n"
    "                              a pattern matching no tensor is an error\n"
    "  --allow-unmatched           accept --only patterns that match nothing (and an empty load)\n"
    "  --read auto|pread|mmap|direct\n"
    "                              how file bytes are read: mmap (a streaming copy from the\n"
    "                              mapping) is fastest from the page cache, pread from disk;\n"
    "                              direct reads with O_DIRECT, past the page cache (refused\n"
    "                              on file systems without it); auto (default) picks per\n"
    "                              file by how much is cached: mmap, direct when cold, pread\n"
    "                              when partly cached\n"
    "  --no-direct                 CPU engine: go through staging instead of reading straight\n"
    "                              into the destination arena\n"
    "  --map                       zero-copy: tensors on CPU devices are views of a private\n"
    "                              copy-on-write mapping of their file, nothing is copied (a\n"
    "                              tensor whose file offset is not a multiple of its element\n"
    "                              size is copied, and counted)\n"
    "  --tp RANK/WORLD             tensor parallelism: load only this rank's part of the\n"
    "                              tensors --split names (only those bytes are read)\n"
    "  --split RULES               which dimension each tensor splits on: a rule set (llama:\n"
    "                              q/k/v/gate/up, embeddings and lm_head on dim 0, o/down on\n"
    "                              dim 1), a JSON object of name patterns to dimensions, or a\n"
    "                              file holding one; tensors no rule names load whole\n"
    "  --dtype DTYPE|RULES         load as another dtype, converted as the bytes land (CPU\n"
    "                              engine): a dtype name (bf16, f16, f32, f64; any case) for\n"
    "                              every floating tensor (integers and bool stay), or a JSON\n"
    "                              object of name patterns to dtype names, or a file holding\n"
    "                              one; an unsupported conversion is an error naming the tensor\n";

inline constexpr const char* kLoadHelp =
    "Loads every tensor (or those --only selects) and prints tensors, bytes, seconds, GB/s and\n"
    "host memory, per device. A progress bar is drawn on stderr when it is a terminal.\n"
    "  --json                      one JSON object with the same figures instead\n"
    "\n" STLOAD_CLI_CHECKPOINT_HELP;

inline constexpr const char* kDigestHelp =
    "Loads, copies every tensor back from where it landed and prints '<sha256>  <name>' per\n"
    "tensor in file order (the sha256sum format), so the output of two engines or two devices\n"
    "can be compared with diff.\n"
    "\n" STLOAD_CLI_CHECKPOINT_HELP;

inline constexpr const char* kPlanHelp =
    "Plans a load as `stload load` would make it, for the devices --capacity states, which\n"
    "need not be on this machine: no engine is made and no memory allocated. Prints each\n"
    "device's tensors, tensor bytes, arena size (with 256-byte alignment) and capacity, the\n"
    "chunk count, and for an 'auto' map the first and last tensor of each device (where the\n"
    "model spilled to the next). A device whose share exceeds its capacity is an OutOfMemory\n"
    "error naming it.\n"
    "  --capacity DEV=SIZE[,...]   the devices and what each may hold, used as given, e.g.\n"
    "                              cuda:0=80GiB,cuda:1=80GiB (units B KiB MiB GiB TiB, KB MB\n"
    "                              GB TB; no unit: bytes); required\n"
    "  --device-map MAP            as for load; 'auto' fills the --capacity devices in order\n"
    "                              (default: everything on cuda:0)\n"
    "  --chunk-mib N               largest single copy (default 64)\n"
    "  --only P[,P...]             plan only tensors these patterns match (as for load)\n"
    "  --allow-unmatched           accept --only patterns that match nothing\n"
    "  --json                      one JSON object (devices, tensors, bytes, chunks, notes)\n";

inline constexpr const char* kConvertHelp =
    "Writes IN (anything PATH may be below, PyTorch zip checkpoints included: torch.save files,\n"
    "pytorch_model.bin and its sharded index) as safetensors at OUT, streaming each tensor's\n"
    "bytes file to file in the kernel (copy_file_range; pread + write where it cannot), 8 MiB\n"
    "at a time: the model is never held in memory. Each file\n"
    "is written to a temporary and renamed into place; a failed convert leaves no output.\n"
    "The metadata is IN's own for safetensors, {\"format\": \"pt\"} for PyTorch (as\n"
    "transformers writes it). Every key gets its own bytes, views of one storage included.\n"
    "Prints the tensors, bytes, files, seconds and GB/s.\n"
    "  --dedupe-tied               write exact duplicates (tied weights: same bytes, dtype and\n"
    "                              shape) once, under the first name in sorted order; the\n"
    "                              others are listed in the metadata key \"stload.tied\" as a\n"
    "                              JSON object {dropped: kept}\n"
    "  --shard-size SIZE           OUT is a directory of shards of at most SIZE tensor bytes\n"
    "                              (e.g. 5GiB; units as for plan --capacity), named\n"
    "                              model-00001-of-0000N.safetensors, with a\n"
    "                              model.safetensors.index.json; model.safetensors alone when\n"
    "                              one shard holds everything (as save_pretrained writes)\n"
    "Without --shard-size, OUT is a file, or an existing directory to write\n"
    "model.safetensors into.\n";

inline constexpr const char* kGenerateHelp =
    "presets:\n"
    "  tiny-llama   a few MiB Llama-shaped bf16 model (tests, quick demos)\n"
    "  llama        Llama-shaped bf16 model sized by --size-gib G (default 1)\n"
    "  many-small   50,000 tiny tensors (planner and header stress)\n"
    "  --seed N     content seed (default 0): the same preset, size and seed give the same bytes\n"
    "  --shards N   write N shard files and a model.safetensors.index.json into the directory "
    "PATH\n";

inline constexpr const char* kDoctorHelp =
    "Prints the CUDA runtime this build links, the CUDA version the installed driver supports\n"
    "(and the kernel module's release), CUDA_VISIBLE_DEVICES, each visible device (name, compute\n"
    "capability, SMs, memory total and free, PCI bus id, PCIe link generation and width from\n"
    "/sys/bus/pci/devices/BUS/current_link_{speed,width}; else see nvidia-smi -q), and one line:\n"
    "whether the CUDA engine is usable, and if not why (not compiled in, no driver, driver too\n"
    "old, no device, or the runtime's error). Reading free memory creates a CUDA context on each\n"
    "device.\n"
    "  --json                      one JSON object with the same facts instead\n"
    "exit status of doctor: 0 the CUDA engine is usable, 1 it is not (the report still prints)\n";

}  // namespace stload::cli

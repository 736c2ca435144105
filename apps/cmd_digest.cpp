// `stload digest PATH [options]`: loads the checkpoint, copies every tensor back from where it
// landed and prints `<sha256>  <name>` (sha256sum's format), proving the bytes arrived intact.

#include <openssl/evp.h>

#include <array>
#include <iostream>
#include <vector>

#include "args.hpp"
#include "checkpoint_arg.hpp"
#include "commands.hpp"
#include "load_args.hpp"
#include "report.hpp"
#include "stload/checkpoint.hpp"
#include "stload/error.hpp"
#include "stload/loader.hpp"
#include "text.hpp"

namespace stload::cli {
namespace {

std::string sha256_hex(std::span<const std::byte> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::InvalidArgument, "OpenSSL could not compute SHA-256");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4U];
    hex += kHex[digest[i] & 0xFU];
  }
  return hex;
}

}  // namespace

int cmd_digest(Args args) {
  std::vector<OptionSpec> specs(std::begin(kLoadOptionSpecs), std::end(kLoadOptionSpecs));
  specs.insert(specs.end(), std::begin(kCheckpointOptionSpecs), std::end(kCheckpointOptionSpecs));
  const ParsedArgs parsed(args, std::span<const OptionSpec>(specs));
  if (parsed.positional().size() != 1) throw UsageError("digest takes exactly one PATH");
  const std::string& path = parsed.positional().front();
  try {
    const LoadOptions options = load_options_from(parsed);
    // A CPU fallback is logged as a warning, which the default log handler prints on stderr as
    // `stload: using the CPU engine: REASON`; printing the note here too would say it twice.
    auto engine = make_engine(options.engine);
    const Checkpoint checkpoint = open_checkpoint(path, parsed, std::cerr);
    const LoadedModel model = load(checkpoint, options, engine);
    std::vector<std::byte> host;
    for (const TensorView& tensor : model.tensors()) {
      host.resize(tensor.bytes);
      model.read(tensor, host);
      std::cout << sha256_hex(host) << "  " << printable(tensor.name) << '\n';
    }
    return kExitOk;
  } catch (const UsageError&) {
    throw;  // --revision with a path: main prints the usage
  } catch (...) {
    return report_current_exception(path);
  }
}

}  // namespace stload::cli

#include <iostream>

#include "stload/stload.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: stload inspect PATH\n";
    return 2;
  }
  try {
    const auto checkpoint = stload::Checkpoint::open(argv[2]);
    for (const auto& t : checkpoint.tensors()) {
      std::cout << t.info.name << ' ' << stload::to_string(t.info.dtype) << ' ' << t.bytes() << '\n';
    }
  } catch (const stload::Error& e) {
    std::cerr << argv[2] << ": " << stload::to_string(e.code()) << ": " << e.what() << '\n';
    return 1;
  }
  return 0;
}

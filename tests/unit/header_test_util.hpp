#pragma once
// Shared by the header tests: run the parser on a file's bytes and report how it refused them, so
// each attack test is one line of setup and one EXPECT that fails on the wrong code, the wrong
// reason (message fragment), or on the file being accepted.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "stload/error.hpp"
#include "stload/header.hpp"

namespace stload {

// Lets gtest print "InvalidOffset" instead of an integer when a code comparison fails.
inline void PrintTo(ErrorCode code, std::ostream* os) {
  *os << to_string(code);
}

namespace testing {

using Bytes = std::vector<std::byte>;

/// The code parse_header throws for `file`, or nullopt when it accepts the file.
inline std::optional<ErrorCode> code_of(const Bytes& file) {
  try {
    (void)parse_header(file);
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

/// What parse_header says about `file`; empty when it accepts the file.
inline std::string message_of(const Bytes& file) {
  try {
    (void)parse_header(file);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

/// Success when parse_header throws `code` with a message containing `fragment`. The fragment pins
/// the reason, so a test cannot pass because its input broke some other rule by accident.
inline ::testing::AssertionResult rejects(const Bytes& file, ErrorCode code,
                                          std::string_view fragment = {}) {
  try {
    (void)parse_header(file);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (e.code() == code && message.find(fragment) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "threw " << to_string(e.code()) << " \"" << message << "\", wanted "
           << to_string(code) << " mentioning \"" << fragment << "\"";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-stload exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted the file, wanted " << to_string(code);
}

/// `"name":{"dtype":"<dtype>","shape":<shape>,"data_offsets":<offsets>}`, with shape and offsets
/// spelled as raw JSON so that a test can break exactly one of them.
inline std::string entry(std::string_view name, std::string_view dtype, std::string_view shape,
                         std::string_view offsets) {
  std::string out = "\"";
  out.append(name).append(R"(":{"dtype":")").append(dtype).append(R"(","shape":)");
  out.append(shape).append(R"(,"data_offsets":)").append(offsets).append("}");
  return out;
}

/// `{` + the entries joined by commas + `}`.
inline std::string object(std::initializer_list<std::string> entries) {
  std::string out = "{";
  for (const std::string& e : entries) {
    if (out.size() > 1) out += ',';
    out += e;
  }
  return out + "}";
}

/// `levels` nested empty arrays: [[[...]]].
inline std::string nested_arrays(std::size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

}  // namespace testing
}  // namespace stload

#pragma once
// throws_error: that a call throws the stload::Error we expect, with a message naming what it must
// name (file, tensor, offset), as a gtest assertion result that prints what was thrown instead.

#include <initializer_list>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "stload/error.hpp"

namespace stload::testing {

/// Success when `call` throws stload::Error with `code` and a message holding every needle.
template <class Call>
::testing::AssertionResult throws_error(Call&& call, ErrorCode code,
                                        std::initializer_list<std::string_view> needles = {}) {
  try {
    std::forward<Call>(call)();
  } catch (const Error& e) {
    if (e.code() != code) {
      return ::testing::AssertionFailure() << "threw " << to_string(e.code()) << " instead of "
                                           << to_string(code) << ": " << e.what();
    }
    const std::string_view message = e.what();
    for (const std::string_view needle : needles) {
      if (message.find(needle) == std::string_view::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" does not name \"" << needle << "\"";
      }
    }
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-stload exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "threw nothing; expected " << to_string(code);
}

}  // namespace stload::testing

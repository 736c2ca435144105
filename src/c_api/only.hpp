#pragma once
// The `only` patterns and flags that stload_load_options and stload_plan_options share.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/check.hpp"
#include "stload/stload.h"

namespace stload::c_api {

/// The caller's `only` array as patterns (validated later, by the plan: name_rules.hpp).
/// @throws Error InvalidArgument for a NULL array or entry, naming `owner` and the index
inline std::vector<std::string> only_patterns(const char* const* only, std::size_t count,
                                              const char* owner) {
  std::vector<std::string> out;
  if (count == 0) return out;
  STLOAD_EXPECT(only != nullptr, ErrorCode::InvalidArgument,
                std::string(owner) + ".only is NULL with only_count " + std::to_string(count));
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    STLOAD_EXPECT(only[i] != nullptr, ErrorCode::InvalidArgument,
                  std::string(owner) + ".only[" + std::to_string(i) + "] is NULL");
    out.emplace_back(only[i]);
  }
  return out;
}

/// Whether `flags` asks for STLOAD_ALLOW_UNMATCHED. @throws Error InvalidArgument for unknown bits
inline bool allow_unmatched(std::uint64_t flags, const char* owner, std::uint64_t also_known = 0) {
  const std::uint64_t kKnown = STLOAD_ALLOW_UNMATCHED | also_known;
  STLOAD_EXPECT((flags & ~kKnown) == 0, ErrorCode::InvalidArgument,
                std::string(owner) + ".flags has unknown bits " + std::to_string(flags & ~kKnown));
  return (flags & STLOAD_ALLOW_UNMATCHED) != 0;
}

}  // namespace stload::c_api

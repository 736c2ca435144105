#pragma once
/// @file name_rules.hpp
/// @brief Rules from tensor-name patterns to values: what device maps, `only` filters (C++, C,
/// CLI, Python) and per-tensor rules share, written once.
///
/// A pattern is a tensor name split at its dots into segments. A segment is literal text or a
/// glob in which `*` stands for any run of characters (possibly none) *within that segment*: `*`
/// never crosses a dot. A pattern of k segments matches a name whose first k segments it matches:
///   - the **whole** name when the name has exactly k segments (`model.layers.*.mlp.up.weight`,
///     or a literal pattern equal to the name: an exact name);
///   - a **dotted prefix** otherwise (`model.layers.1` matches `model.layers.1.attn.q.weight`,
///     never `model.layers.10.attn.q.weight`; `model.layers.*.mlp` matches every layer's mlp).
///
/// Precedence when several patterns match one name (the most specific wins):
///   1. a whole-name match beats every prefix match;
///   2. then more segments win (the longest dotted prefix);
///   3. then a literal pattern beats a glob (an exact name beats `*`);
///   4. then the glob with more literal (non-`*`) characters wins.
/// Two globs still tied for some name (same segment count and literal characters, and a name
/// exists that both match) with *different* values make the rule set ambiguous: refused at
/// construction, the error naming both patterns. Tied rules with equal values are fine (filters).
///
/// Invalid patterns, refused with InvalidArgument naming them: empty; a leading or trailing dot
/// or an empty segment (`a..b`); `**` (`*` already spans a whole segment and never crosses dots).
/// `?` and `[...]` are ordinary characters. A tensor name with an empty segment (`a..b`, `a.`) can
/// therefore only be reached through a glob or a shorter prefix.
///
/// Thread-safety: const member functions may be called concurrently.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stload {

/// @brief One parsed pattern (see the file comment).
class NamePattern {
 public:
  /// @brief How a pattern matched a name.
  enum class Match : std::uint8_t { None, Prefix, Whole };

  /// @brief Parses `text`.
  /// @throws Error InvalidArgument naming `text` and what is wrong with it
  static NamePattern parse(std::string_view text);

  /// @brief The pattern as written.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  /// @brief True when the pattern has no `*` (an exact name or a dotted prefix).
  [[nodiscard]] bool is_literal() const noexcept { return literal_; }
  /// @brief Number of dotted segments.
  [[nodiscard]] std::size_t segments() const noexcept { return segments_.size(); }
  /// @brief Characters other than `*` and the dots.
  [[nodiscard]] std::size_t literal_chars() const noexcept { return literal_chars_; }
  /// @brief Whether, and how, the pattern matches `name`.
  [[nodiscard]] Match match(std::string_view name) const;
  /// @brief True when some name matches both patterns with the same segment count (see
  /// precedence), i.e. each segment pair has a common string.
  [[nodiscard]] bool overlaps(const NamePattern& other) const;

 private:
  std::string text_;
  std::vector<std::string> segments_;
  bool literal_ = true;
  std::size_t literal_chars_ = 0;
};

/// @brief The type-erased core of NameRules: patterns and the precedence between them.
class NamePatternSet {
 public:
  NamePatternSet() = default;
  /// @brief Parses `patterns`. `same_value(i, j)` says whether patterns i and j lead to the same
  /// value (a tie between them is then harmless); when empty every pair counts as different.
  /// @throws Error InvalidArgument for an invalid or repeated pattern, or an ambiguous pair
  NamePatternSet(const std::vector<std::string>& patterns,
                 const std::function<bool(std::size_t, std::size_t)>& same_value);

  /// @brief Index of the winning pattern for `name`, or nullopt when none matches.
  [[nodiscard]] std::optional<std::size_t> best(std::string_view name) const;
  /// @brief Sets `matched[i]` for every pattern i that matches `name` (winning or not);
  /// `matched` must hold size() flags.
  void mark_matches(std::string_view name, std::vector<bool>& matched) const;
  /// @brief The parsed patterns, in the order given.
  [[nodiscard]] const std::vector<NamePattern>& patterns() const noexcept { return patterns_; }
  [[nodiscard]] std::size_t size() const noexcept { return patterns_.size(); }
  [[nodiscard]] bool empty() const noexcept { return patterns_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  template <class Visit>
  void for_each_match(std::string_view name, Visit&& visit) const;

  std::vector<NamePattern> patterns_;
  // Literal patterns by text: an exact name or a dotted prefix is one hash lookup per dot.
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> literals_;
  std::vector<std::size_t> globs_;  // indices of the glob patterns, scanned
};

/// @brief Rules from patterns to values of type T (a device, a filter's yes, a split dimension,
/// a dtype). T needs `==` (for the ambiguity check).
template <class T>
class NameRules {
 public:
  NameRules() = default;
  /// @brief Rules in the order given (the order matters for nothing but error messages).
  /// @throws Error InvalidArgument for an invalid or repeated pattern, or an ambiguous pair
  explicit NameRules(std::vector<std::pair<std::string, T>> rules) {
    std::vector<std::string> patterns;
    patterns.reserve(rules.size());
    values_.reserve(rules.size());
    for (auto& [pattern, value] : rules) {
      patterns.push_back(std::move(pattern));
      values_.push_back(Slot{std::move(value)});
    }
    set_ = NamePatternSet(patterns, [this](std::size_t a, std::size_t b) {
      return values_[a].value == values_[b].value;
    });
  }

  /// @brief The value of the winning rule for `name`, or nullptr when no rule matches.
  [[nodiscard]] const T* find(std::string_view name) const {
    const auto index = set_.best(name);
    return index ? &values_[*index].value : nullptr;
  }
  /// @brief The winning rule's index for `name` (into patterns(), and for value()).
  [[nodiscard]] std::optional<std::size_t> find_index(std::string_view name) const {
    return set_.best(name);
  }
  /// @brief Patterns that match none of `names` (a typo, a module the checkpoint lacks).
  template <class Names>
  [[nodiscard]] std::vector<std::string> unmatched(const Names& names) const {
    std::vector<bool> matched(set_.size(), false);
    for (const auto& name : names) set_.mark_matches(name, matched);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < matched.size(); ++i) {
      if (!matched[i]) out.push_back(set_.patterns()[i].text());
    }
    return out;
  }
  [[nodiscard]] const std::vector<NamePattern>& patterns() const noexcept {
    return set_.patterns();
  }
  /// @brief The value of rule `index` (in the order given).
  [[nodiscard]] const T& value(std::size_t index) const { return values_.at(index).value; }
  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }

 private:
  struct Slot {
    T value;  // a struct, so that NameRules<bool> hands out real references (not vector<bool>'s)
  };
  std::vector<Slot> values_;
  NamePatternSet set_;
};

}  // namespace stload

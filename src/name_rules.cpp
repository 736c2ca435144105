#include "stload/name_rules.hpp"

#include <tuple>

#include "detail/check.hpp"

namespace stload {
namespace {

// Whether the `*`-glob `pattern` matches all of `text` (no dots in either: one segment). Greedy
// with one backtrack point, linear in practice, O(|pattern| * |text|) at worst.
bool glob_matches(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Whether two `*`-globs of one segment have a string in common. (i, j) is "a[i:] and b[j:] can
// produce the same rest": a star may produce nothing, or swallow what the other side produces
// next (a literal character, or whatever the other star makes, which may itself be nothing).
bool globs_intersect(std::string_view a, std::string_view b) {
  const std::size_t columns = b.size() + 1;
  std::vector<char> can((a.size() + 1) * columns, 0);
  const auto at = [&](std::size_t i, std::size_t j) -> char& { return can[i * columns + j]; };
  for (std::size_t i = a.size() + 1; i-- > 0;) {
    for (std::size_t j = b.size() + 1; j-- > 0;) {
      bool ok = false;
      if (i == a.size() && j == b.size()) {
        ok = true;
      } else if (i < a.size() && a[i] == '*') {
        ok = at(i + 1, j) != 0 || (j < b.size() && at(i, j + 1) != 0);
      } else if (j < b.size() && b[j] == '*') {
        ok = at(i, j + 1) != 0 || (i < a.size() && at(i + 1, j) != 0);
      } else if (i < a.size() && j < b.size()) {
        ok = a[i] == b[j] && at(i + 1, j + 1) != 0;
      }
      at(i, j) = ok ? 1 : 0;
    }
  }
  return at(0, 0) != 0;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// Higher wins: whole match, then segments, then literal, then literal characters.
using Rank = std::tuple<int, std::size_t, int, std::size_t>;
Rank rank_of(const NamePattern& pattern, NamePattern::Match match) {
  return {match == NamePattern::Match::Whole ? 1 : 0, pattern.segments(),
          pattern.is_literal() ? 1 : 0, pattern.literal_chars()};
}

}  // namespace

NamePattern NamePattern::parse(std::string_view text) {
  STLOAD_EXPECT(!text.empty(), ErrorCode::InvalidArgument,
                "name pattern is empty (to match every tensor, leave the rule out or use '*')");
  STLOAD_EXPECT(text.front() != '.' && text.back() != '.', ErrorCode::InvalidArgument,
                "name pattern " + quoted(text) +
                    " starts or ends with a dot (patterns match at dots already: write it "
                    "without the dot)");
  STLOAD_EXPECT(text.find("..") == std::string_view::npos, ErrorCode::InvalidArgument,
                "name pattern " + quoted(text) + " has an empty segment ('..')");
  STLOAD_EXPECT(text.find("**") == std::string_view::npos, ErrorCode::InvalidArgument,
                "name pattern " + quoted(text) +
                    " has '**': '*' matches within one dotted segment and never crosses a dot; "
                    "use one '*' per segment");
  NamePattern pattern;
  pattern.text_ = std::string(text);
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view segment =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    pattern.segments_.emplace_back(segment);
    for (const char c : segment) {
      if (c == '*') {
        pattern.literal_ = false;
      } else {
        ++pattern.literal_chars_;
      }
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return pattern;
}

NamePattern::Match NamePattern::match(std::string_view name) const {
  std::size_t start = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (start == std::string_view::npos) return Match::None;  // the name has fewer segments
    const std::size_t dot = name.find('.', start);
    const std::string_view segment =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const bool ok = literal_ ? segment == segments_[i] : glob_matches(segments_[i], segment);
    if (!ok) return Match::None;
    start = dot == std::string_view::npos ? std::string_view::npos : dot + 1;
  }
  return start == std::string_view::npos ? Match::Whole : Match::Prefix;
}

bool NamePattern::overlaps(const NamePattern& other) const {
  if (segments_.size() != other.segments_.size()) return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (!globs_intersect(segments_[i], other.segments_[i])) return false;
  }
  return true;
}

NamePatternSet::NamePatternSet(const std::vector<std::string>& patterns,
                               const std::function<bool(std::size_t, std::size_t)>& same_value) {
  patterns_.reserve(patterns.size());
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    patterns_.push_back(NamePattern::parse(patterns[i]));
    const NamePattern& pattern = patterns_.back();
    if (pattern.is_literal()) {
      const bool fresh = literals_.emplace(pattern.text(), i).second;
      STLOAD_EXPECT(fresh, ErrorCode::InvalidArgument,
                    "name pattern " + quoted(pattern.text()) + " is given twice");
      continue;
    }
    for (const std::size_t j : globs_) {
      const NamePattern& other = patterns_[j];
      STLOAD_EXPECT(other.text() != pattern.text(), ErrorCode::InvalidArgument,
                    "name pattern " + quoted(pattern.text()) + " is given twice");
      if (other.literal_chars() != pattern.literal_chars() || !pattern.overlaps(other)) continue;
      if (same_value && same_value(i, j)) continue;
      STLOAD_FAIL(ErrorCode::InvalidArgument,
                  "name patterns " + quoted(other.text()) + " and " + quoted(pattern.text()) +
                      " are ambiguous: some name matches both equally well and they give "
                      "different values (add a rule for the names they share, or make one "
                      "more specific)");
    }
    globs_.push_back(i);
  }
}

template <class Visit>
void NamePatternSet::for_each_match(std::string_view name, Visit&& visit) const {
  if (!literals_.empty()) {
    if (const auto it = literals_.find(name); it != literals_.end())
      visit(it->second, NamePattern::Match::Whole);
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos;
         dot = name.find('.', dot + 1)) {
      if (const auto it = literals_.find(name.substr(0, dot)); it != literals_.end())
        visit(it->second, NamePattern::Match::Prefix);
    }
  }
  for (const std::size_t i : globs_) {
    const NamePattern::Match match = patterns_[i].match(name);
    if (match != NamePattern::Match::None) visit(i, match);
  }
}

std::optional<std::size_t> NamePatternSet::best(std::string_view name) const {
  std::optional<std::size_t> winner;
  Rank winner_rank{};
  for_each_match(name, [&](std::size_t i, NamePattern::Match match) {
    const Rank rank = rank_of(patterns_[i], match);
    // Ties left are between rules with equal values (the constructor refused the others).
    if (!winner || rank > winner_rank) {
      winner = i;
      winner_rank = rank;
    }
  });
  return winner;
}

void NamePatternSet::mark_matches(std::string_view name, std::vector<bool>& matched) const {
  for_each_match(name, [&](std::size_t i, NamePattern::Match) { matched[i] = true; });
}

}  // namespace stload

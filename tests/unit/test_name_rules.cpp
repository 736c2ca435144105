#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "stload/error.hpp"
#include "stload/name_rules.hpp"

namespace stload {
namespace {

using Rules = NameRules<int>;

std::optional<int> value_for(const Rules& rules, std::string_view name) {
  const int* value = rules.find(name);
  return value ? std::optional<int>(*value) : std::nullopt;
}

// The message of the InvalidArgument error `make` throws (fails the test when none is thrown).
template <class Make>
std::string invalid_argument_message(Make&& make) {
  try {
    make();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(NamePattern, dotted_prefix_matches_at_a_dot_never_inside_a_segment) {
  const NamePattern p = NamePattern::parse("model.layers.1");
  EXPECT_EQ(p.match("model.layers.1"), NamePattern::Match::Whole);
  EXPECT_EQ(p.match("model.layers.1.attn.q.weight"), NamePattern::Match::Prefix);
  EXPECT_EQ(p.match("model.layers.10.attn.q.weight"), NamePattern::Match::None);
  EXPECT_EQ(p.match("model.layers"), NamePattern::Match::None);
  EXPECT_EQ(p.match("xmodel.layers.1"), NamePattern::Match::None);
}

TEST(NamePattern, star_stays_within_one_segment) {
  const NamePattern p = NamePattern::parse("model.layers.*.mlp.*");
  EXPECT_EQ(p.match("model.layers.7.mlp.up"), NamePattern::Match::Whole);
  EXPECT_EQ(p.match("model.layers.7.mlp.up.weight"), NamePattern::Match::Prefix);
  // `*` does not swallow "7.self" to reach a later "mlp".
  EXPECT_EQ(p.match("model.layers.7.self.mlp.up"), NamePattern::Match::None);
  EXPECT_EQ(NamePattern::parse("*").match("a.b.c"), NamePattern::Match::Prefix);
  EXPECT_EQ(NamePattern::parse("l*.w").match("l.w"), NamePattern::Match::Whole);  // may be empty
  EXPECT_EQ(NamePattern::parse("a*b*c").match("aXbYc"), NamePattern::Match::Whole);
  EXPECT_EQ(NamePattern::parse("a*b*c").match("aXbY"), NamePattern::Match::None);
}

TEST(NamePattern, question_mark_and_brackets_are_ordinary_characters) {
  EXPECT_EQ(NamePattern::parse("w?").match("w?"), NamePattern::Match::Whole);
  EXPECT_EQ(NamePattern::parse("w?").match("wx"), NamePattern::Match::None);
  EXPECT_EQ(NamePattern::parse("w[0]").match("w0"), NamePattern::Match::None);
}

TEST(NamePattern, invalid_patterns_are_refused_naming_them) {
  for (const std::string bad : {"", ".a", "a.", "a..b", "a.**.b", "**", "model.layers."}) {
    const std::string message = invalid_argument_message([&] { (void)NamePattern::parse(bad); });
    if (!bad.empty()) {
      EXPECT_NE(message.find("'" + bad + "'"), std::string::npos) << message;
    }
  }
}

TEST(NameRules, exact_name_beats_glob_beats_shorter_prefix) {
  const Rules rules({{"model", 1},
                     {"model.layers.*.w", 2},
                     {"model.layers.3.w", 3},
                     {"model.layers.3", 4},
                     {"model.layers.*", 5}});
  EXPECT_EQ(value_for(rules, "model.layers.3.w"), 3);  // exact
  EXPECT_EQ(value_for(rules, "model.layers.4.w"), 2);  // whole-name glob
  EXPECT_EQ(value_for(rules, "model.layers.3.b"), 4);  // literal prefix beats glob of same depth
  EXPECT_EQ(value_for(rules, "model.layers.4.b"), 5);  // glob prefix beats shorter literal
  EXPECT_EQ(value_for(rules, "model.norm"), 1);
  EXPECT_EQ(value_for(rules, "lm_head.weight"), std::nullopt);
}

TEST(NameRules, deeper_prefix_wins_over_shallower_one) {
  const Rules rules({{"a", 1}, {"a.b", 2}, {"a.b.c", 3}});
  EXPECT_EQ(value_for(rules, "a.b.c.d"), 3);
  EXPECT_EQ(value_for(rules, "a.b.x"), 2);
  EXPECT_EQ(value_for(rules, "a.x"), 1);
  EXPECT_EQ(value_for(rules, "ab.c"), std::nullopt);
}

TEST(NameRules, glob_with_more_literal_characters_wins_a_tie_in_depth) {
  const Rules rules({{"*.weight", 1}, {"*", 2}, {"lm_*.weight", 3}});
  EXPECT_EQ(value_for(rules, "lm_head.weight"), 3);
  EXPECT_EQ(value_for(rules, "embed.weight"), 1);
  EXPECT_EQ(value_for(rules, "embed"), 2);
}

TEST(NameRules, two_globs_tied_for_a_name_with_different_values_are_refused_naming_both) {
  const std::string message = invalid_argument_message([] { Rules({{"a.*.c", 1}, {"*.b.c", 2}}); });
  EXPECT_NE(message.find("'a.*.c'"), std::string::npos) << message;
  EXPECT_NE(message.find("'*.b.c'"), std::string::npos) << message;
}

TEST(NameRules, tied_globs_with_equal_values_or_disjoint_names_are_accepted) {
  EXPECT_NO_THROW(Rules({{"a.*.c", 1}, {"*.b.c", 1}}));
  EXPECT_NO_THROW(Rules({{"x*.c", 1}, {"y*.c", 2}}));  // no name starts with both x and y
  EXPECT_NO_THROW(Rules({{"*x", 1}, {"*y", 2}}));      // no name ends with both
}

TEST(NameRules, repeated_pattern_is_refused) {
  EXPECT_NE(invalid_argument_message([] {
              Rules({{"a.b", 1}, {"a.b", 1}});
            }).find("twice"),
            std::string::npos);
  EXPECT_NE(invalid_argument_message([] {
              Rules({{"a.*", 1}, {"a.*", 2}});
            }).find("twice"),
            std::string::npos);
}

TEST(NameRules, unmatched_lists_each_pattern_no_name_reaches) {
  const Rules rules({{"model.layers.1", 1}, {"model.layrs.2", 1}, {"*.bias", 1}, {"lm_head", 1}});
  const std::vector<std::string> names{"model.layers.1.w", "model.layers.2.w", "lm_head.weight"};
  EXPECT_EQ(rules.unmatched(names), (std::vector<std::string>{"model.layrs.2", "*.bias"}));
}

TEST(NameRules, shadowed_pattern_still_counts_as_matched) {
  const Rules rules({{"a", 1}, {"a.b", 1}});
  const std::vector<std::string> names{"a.b.c"};  // "a.b" wins, "a" matched too
  EXPECT_TRUE(rules.unmatched(names).empty());
}

// ---- property test against a slow reference: a recursive matcher over the whole name ----------

// `*` is any run of non-dot characters; everything else matches itself. No segment splitting.
bool reference_matches(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return name.empty();
  if (pattern.front() == '*') {
    return reference_matches(pattern.substr(1), name) ||
           (!name.empty() && name.front() != '.' && reference_matches(pattern, name.substr(1)));
  }
  return !name.empty() && pattern.front() == name.front() &&
         reference_matches(pattern.substr(1), name.substr(1));
}

using RefRank = std::tuple<int, std::size_t, int, std::size_t>;

std::optional<RefRank> reference_rank(const std::string& pattern, const std::string& name) {
  const std::size_t segments =
      1 + static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '.'));
  const std::size_t stars =
      static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '*'));
  const RefRank rank_if_whole{1, segments, stars == 0 ? 1 : 0,
                              pattern.size() - stars - (segments - 1)};
  if (reference_matches(pattern, name)) return rank_if_whole;
  for (std::size_t dot = 0; dot < name.size(); ++dot) {
    if (name[dot] == '.' && reference_matches(pattern, std::string_view(name).substr(0, dot))) {
      RefRank rank = rank_if_whole;
      std::get<0>(rank) = 0;
      return rank;
    }
  }
  return std::nullopt;
}

// Patterns of 1-2 segments, each 1-2 characters of {a, b, *} (no "**").
std::string random_pattern(std::mt19937& rng) {
  std::uniform_int_distribution<int> segments(1, 2);
  std::uniform_int_distribution<int> length(1, 2);
  std::uniform_int_distribution<int> pick(0, 2);
  std::string out;
  const int n = segments(rng);
  for (int s = 0; s < n; ++s) {
    if (s > 0) out += '.';
    std::string segment;
    const int l = length(rng);
    for (int i = 0; i < l; ++i) {
      const char c = "ab*"[pick(rng)];
      if (c == '*' && !segment.empty() && segment.back() == '*') continue;
      segment += c;
    }
    out += segment;
  }
  return out;
}

// Every name over {a, b} with up to 3 segments: the first two of up to 4 characters (enough to
// witness any overlap of two generated segments: a common string needs at most the literal
// characters of both), the third "", "a" or "b" (names longer than the patterns: prefix matches).
std::vector<std::string> all_small_names() {
  std::vector<std::string> segments{""};
  for (std::size_t len = 1; len <= 4; ++len) {
    for (std::size_t bits = 0; bits < (1U << len); ++bits) {
      std::string s;
      for (std::size_t i = 0; i < len; ++i) s += ((bits >> i) & 1U) != 0 ? 'b' : 'a';
      segments.push_back(s);
    }
  }
  std::vector<std::string> names;
  for (const auto& a : segments) {
    names.push_back(a);
    for (const auto& b : segments) {
      names.push_back(a + "." + b);
      for (const char* c : {"", "a", "b"}) names.push_back(a + "." + b + "." + c);
    }
  }
  return names;
}

TEST(NameRulesProperty, winner_and_ambiguity_agree_with_a_brute_force_reference) {
  std::mt19937 rng(20261203);
  const std::vector<std::string> names = all_small_names();
  std::uniform_int_distribution<int> count(1, 5);
  std::uniform_int_distribution<int> value(0, 2);
  int accepted = 0;
  int refused = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::pair<std::string, int>> rules;
    const int n = count(rng);
    for (int i = 0; i < n; ++i) {
      std::string pattern = random_pattern(rng);
      bool repeated = false;
      for (const auto& r : rules) repeated = repeated || r.first == pattern;
      if (repeated) continue;
      rules.emplace_back(std::move(pattern), value(rng));
    }
    // The reference: for each name, the best rank and the values reaching it.
    bool ambiguous = false;
    std::vector<std::optional<int>> expected(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
      std::optional<RefRank> best;
      std::vector<int> values;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto rank = reference_rank(rules[i].first, names[k]);
        if (!rank) continue;
        if (!best || *rank > *best) {
          best = rank;
          values = {rules[i].second};
        } else if (*rank == *best) {
          values.push_back(rules[i].second);
        }
      }
      for (const int v : values) ambiguous = ambiguous || v != values.front();
      if (!values.empty()) expected[k] = values.front();
    }
    std::optional<Rules> built;
    try {
      built.emplace(rules);
    } catch (const Error& e) {
      ASSERT_TRUE(ambiguous) << "refused a rule set the reference finds unambiguous: " << e.what();
      ++refused;
      continue;
    }
    ASSERT_FALSE(ambiguous) << "accepted an ambiguous rule set (round " << round << ")";
    ++accepted;
    for (std::size_t k = 0; k < names.size(); ++k) {
      ASSERT_EQ(value_for(*built, names[k]), expected[k]) << "name '" << names[k] << "'";
    }
    // unmatched() agrees with "no name matches it" over the sampled names.
    const auto unmatched = built->unmatched(names);
    for (std::size_t i = 0; i < rules.size(); ++i) {
      bool any = false;
      for (const auto& name : names) any = any || reference_rank(rules[i].first, name).has_value();
      const bool listed =
          std::find(unmatched.begin(), unmatched.end(), rules[i].first) != unmatched.end();
      ASSERT_EQ(listed, !any) << rules[i].first;
    }
  }
  // Both outcomes were exercised, so neither branch above is dead.
  EXPECT_GT(accepted, 50);
  EXPECT_GT(refused, 10);
}

}  // namespace
}  // namespace stload

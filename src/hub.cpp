#include "stload/hub.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "detail/check.hpp"

namespace stload {
namespace {

namespace fs = std::filesystem;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

fs::path home_directory() {
  if (std::string home = environment("HOME"); !home.empty()) return home;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && found->pw_dir != nullptr && found->pw_dir[0] != '\0') {
    return found->pw_dir;
  }
  STLOAD_FAIL(ErrorCode::NotFound,
              "no home directory (HOME is unset) to find the Hugging Face hub cache in; set "
              "HF_HUB_CACHE or HF_HOME");
}

// os.path.expanduser for the forms a cache variable takes: "~" and "~/...".
fs::path expand_user(const std::string& text) {
  if (text == "~") return home_directory();
  if (text.starts_with("~/")) return home_directory() / text.substr(2);
  return text;
}

bool is_word_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// huggingface_hub's REPO_ID_REGEX for one part: \b[\w\-.]+\b (ASCII, as hub names are).
bool is_repo_id_part(std::string_view part, std::size_t max_size) noexcept {
  if (part.empty() || part.size() > max_size) return false;
  if (!is_word_char(part.front()) || !is_word_char(part.back())) return false;
  return std::all_of(part.begin(), part.end(),
                     [](char c) { return is_word_char(c) || c == '-' || c == '.'; });
}

// A ref name may hold '/' (refs/pr/1 is stored as refs/refs/pr/1) but never climb out of refs/.
void check_revision(std::string_view revision) {
  const std::string quoted = "revision '" + std::string(revision) + "'";
  STLOAD_EXPECT(revision.find('\0') == std::string_view::npos, ErrorCode::InvalidArgument,
                quoted + " contains a NUL character");
  STLOAD_EXPECT(!revision.starts_with('/') && revision.find('\\') == std::string_view::npos,
                ErrorCode::InvalidArgument, quoted + " must be a ref name or a commit hash");
  for (std::size_t start = 0; start <= revision.size();) {
    const std::size_t end = std::min(revision.find('/', start), revision.size());
    const std::string_view part = revision.substr(start, end - start);
    STLOAD_EXPECT(!part.empty() && part != "." && part != "..", ErrorCode::InvalidArgument,
                  quoted + " must be a ref name or a commit hash");
    start = end + 1;
  }
}

// The commit a ref file names; huggingface_hub writes the 40-hex hash without a newline.
std::string read_ref(const fs::path& ref) {
  std::ifstream in(ref, std::ios::binary);
  std::string text(256, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  STLOAD_EXPECT(!in.bad() && (in.gcount() > 0 || in.eof()), ErrorCode::Io,
                ref.string() + ": cannot read the ref");
  text.resize(static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  // The commit becomes a directory name under snapshots/: it must not lead anywhere else.
  const bool plain = !text.empty() && text != "." && text != ".." &&
                     std::all_of(text.begin(), text.end(),
                                 [](char c) { return is_word_char(c) || c == '-' || c == '.'; });
  STLOAD_EXPECT(plain, ErrorCode::InvalidArgument,
                ref.string() + ": holds no commit hash (a ref file names a snapshot directory)");
  return text;
}

bool directory_exists(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && !ec;
}

// "refs: main, v1; snapshots: 0123..." of what the repo's cache folder does hold.
std::string cached_revisions(const fs::path& repo) {
  std::string out;
  for (const char* kind : {"refs", "snapshots"}) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(repo / kind, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
    out += std::string(out.empty() ? "" : "; ") + kind + ": " + (list.empty() ? "none" : list);
  }
  return out;
}

}  // namespace

HubCache hub_cache() {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    if (const std::string value = environment(name); !value.empty()) {
      return {expand_user(value), name};
    }
  }
  if (const std::string value = environment("HF_HOME"); !value.empty()) {
    return {expand_user(value) / "hub", "HF_HOME"};
  }
  if (const std::string value = environment("XDG_CACHE_HOME"); !value.empty()) {
    return {expand_user(value) / "huggingface" / "hub", "XDG_CACHE_HOME"};
  }
  return {home_directory() / ".cache" / "huggingface" / "hub", "the default"};
}

bool is_repo_id(std::string_view text) noexcept {
  if (text.find("--") != std::string_view::npos || text.find("..") != std::string_view::npos ||
      text.ends_with(".git")) {
    return false;
  }
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return is_repo_id_part(text, 96);
  return is_repo_id_part(text.substr(0, slash), text.size()) &&
         is_repo_id_part(text.substr(slash + 1), 96);
}

fs::path resolve_repo(std::string_view repo_id, std::string_view revision) {
  const std::string id(repo_id);
  STLOAD_EXPECT(is_repo_id(repo_id), ErrorCode::InvalidArgument,
                "'" + id +
                    "' is not a repo id (ORG/NAME of letters, digits, '-', '_' and '.', as on "
                    "the Hugging Face hub)");
  const std::string rev = revision.empty() ? std::string("main") : std::string(revision);
  check_revision(rev);

  const HubCache cache = hub_cache();
  std::string folder = "models--" + id;
  if (const std::size_t slash = folder.find('/'); slash != std::string::npos) {
    folder.replace(slash, 1, "--");
  }
  const fs::path repo = cache.path / folder;
  std::vector<fs::path> looked;
  const auto not_found = [&](const std::string& what) {
    std::string places;
    for (const fs::path& place : looked) places += (places.empty() ? "" : ", ") + place.string();
    STLOAD_FAIL(ErrorCode::NotFound,
                what + " in the local Hugging Face hub cache " + cache.path.string() + " (from " +
                    cache.chosen_by + "); looked for " + places +
                    ". stload never downloads: fetch it with `huggingface-cli download " + id +
                    (revision.empty() ? "" : " --revision " + rev) +
                    "`, or set HF_HUB_CACHE or HF_HOME to the cache that holds it");
  };

  looked.push_back(repo);
  if (!directory_exists(repo)) not_found(id + " is not");
  const fs::path ref = repo / "refs" / rev;
  looked.push_back(ref);
  std::error_code ec;
  if (fs::is_regular_file(ref, ec)) {
    const std::string commit = read_ref(ref);
    const fs::path snapshot = repo / "snapshots" / commit;
    looked.push_back(snapshot);
    if (directory_exists(snapshot)) return snapshot;
    not_found("revision " + rev + " of " + id + " (commit " + commit + ") is not");
  }
  if (rev.find('/') == std::string::npos) {
    const fs::path snapshot = repo / "snapshots" / rev;
    looked.push_back(snapshot);
    if (directory_exists(snapshot)) return snapshot;
  }
  not_found("revision " + rev + " of " + id + " is not (the cache has " + cached_revisions(repo) +
            ")");
  return {};  // not reached: not_found throws
}

}  // namespace stload

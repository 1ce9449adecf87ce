#include "vz/auth/netrc.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vz::auth {

namespace {

// Splits on whitespace; a double-quoted token may contain spaces (curl accepts that).
std::vector<std::string> Tokens(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
    if (i >= text.size()) break;
    std::string tok;
    if (text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        tok.push_back(text[i++]);
      }
      ++i;
    } else {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0) {
        tok.push_back(text[i++]);
      }
    }
    out.push_back(tok);
  }
  return out;
}

}  // namespace

Result<std::vector<NetrcEntry>> ParseNetrc(const std::string& text, const std::string& origin) {
  std::vector<NetrcEntry> entries;
  // macdef bodies run to the next blank line: drop them before tokenising.
  std::string cleaned;
  std::istringstream lines(text);
  std::string line;
  bool in_macro = false;
  while (std::getline(lines, line)) {
    if (in_macro) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) in_macro = false;
      continue;
    }
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "macdef") {
      in_macro = true;
      continue;
    }
    if (!first.empty() && first[0] == '#') continue;
    cleaned += line + "\n";
  }
  auto toks = Tokens(cleaned);
  NetrcEntry* cur = nullptr;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const std::string& t = toks[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= toks.size()) {
        return InvalidArgument(fmt::format("{}: '{}' without a value", origin, t));
      }
      return toks[++i];
    };
    if (t == "machine") {
      VZ_ASSIGN_OR_RETURN(auto host, value());
      entries.push_back({host, "", ""});
      cur = &entries.back();
    } else if (t == "default") {
      entries.push_back({"", "", ""});
      cur = &entries.back();
    } else if (t == "login" || t == "password" || t == "account") {
      VZ_ASSIGN_OR_RETURN(auto v, value());
      if (cur == nullptr) {
        return InvalidArgument(fmt::format("{}: '{}' before any 'machine'", origin, t));
      }
      if (t == "login") cur->login = v;
      if (t == "password") cur->password = v;
    } else {
      return InvalidArgument(fmt::format("{}: unexpected token '{}'", origin, t));
    }
  }
  return entries;
}

std::string DefaultNetrcPath() {
  if (const char* p = std::getenv("NETRC"); p != nullptr && *p != '\0') return p;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.netrc";
  }
  return "";
}

Result<std::vector<NetrcEntry>> LoadNetrc(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(fmt::format("no netrc file at {}", path));
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    return PermissionDenied(fmt::format(
        "{} is readable by other users and holds passwords; refusing to use it (run: chmod 600 {})",
        path, path));
  }
  std::ifstream in(path);
  if (!in) return PermissionDenied(fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseNetrc(ss.str(), path);
}

std::optional<NetrcEntry> FindNetrc(const std::vector<NetrcEntry>& entries,
                                    const std::string& host) {
  for (const auto& e : entries) {
    if (e.machine == host) return e;
  }
  for (const auto& e : entries) {
    if (e.machine.empty()) return e;
  }
  return std::nullopt;
}

}  // namespace vz::auth

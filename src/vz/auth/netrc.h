// ~/.netrc (or $NETRC) as curl and earthaccess read it: "machine HOST login USER password PASS"
// entries plus an optional "default". A file that others can read is refused, because it holds
// the user's Earthdata Login password.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vz/base/error.h"

namespace vz::auth {

struct NetrcEntry {
  std::string machine;  // empty for "default"
  std::string login;
  std::string password;
};

// Parses netrc text (macdef bodies are skipped). Errors name `origin` and the token.
Result<std::vector<NetrcEntry>> ParseNetrc(const std::string& text, const std::string& origin);

// $NETRC if set, else $HOME/.netrc. Empty when neither can be formed.
std::string DefaultNetrcPath();

// Reads and parses `path`, refusing a group- or world-readable file with a message that says
// how to fix it (chmod 600).
Result<std::vector<NetrcEntry>> LoadNetrc(const std::string& path);

// The entry for `host` (exact machine match), else the default entry, else nullopt.
std::optional<NetrcEntry> FindNetrc(const std::vector<NetrcEntry>& entries,
                                    const std::string& host);

}  // namespace vz::auth

// Test support: one of the loopback test servers in tests/servers/ run with Debian's Python,
// killed with the test (PR_SET_PDEATHSIG) or when this object goes. Header-only, tests only.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace vz::testing {

class PythonServer {
 public:
  static constexpr const char* kPython = "/usr/bin/python3";

  // Runs tests/servers/<script> ARGS...; ports() are the numbers of its "PORT(S) ..." line.
  PythonServer(const std::string& script, const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(fds[1], 1);
      close(fds[0]);
      const std::string path = std::string(VZ_SOURCE_DIR) + "/tests/servers/" + script;
      std::vector<char*> argv = {const_cast<char*>(kPython), const_cast<char*>(path.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(kPython, argv.data());
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[256] = {};
    if (out != nullptr && std::fgets(line, sizeof line, out) != nullptr) {
      std::istringstream in(line);
      std::string word;
      in >> word;
      int port = 0;
      while (in >> port) ports_.push_back(port);
    }
    if (out != nullptr) std::fclose(out);
  }
  ~PythonServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  const std::vector<int>& ports() const { return ports_; }
  int port() const { return ports_.empty() ? 0 : ports_[0]; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

 private:
  pid_t pid_ = -1;
  std::vector<int> ports_;
};

}  // namespace vz::testing

// Test support: a real nginx on loopback serving a temporary directory with range support.
// Header-only so it links into test executables only. Tests skip (visibly) when nginx is not
// installed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vz/io/http_source.h"
#include "vz/io/source_conformance_test.h"

namespace vz::io::testing {

// HttpSource options for tests: a given open read, attempts and a fixed backoff.
inline HttpSourceOptions Opts(std::uint64_t open_read, int attempts = 5,
                              std::uint64_t backoff_ms = 100) {
  HttpSourceOptions o;
  o.open_read = open_read;
  o.max_attempts = attempts;
  o.backoff_ms = backoff_ms;
  o.max_backoff_ms = backoff_ms;
  return o;
}

using conformance::Pattern;

class NginxServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nginx";

  static bool Available() { return std::filesystem::exists(kBinary); }

  NginxServer() {
    char tmpl[] = "/tmp/vz_nginx_XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/www");
    port_ = FreePort();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log;\n"
         << "events { worker_connections 256; }\n"
         << "http {\n  log_format ranges '$request_uri $http_range $status';\n"
         << "  access_log " << dir_ << "/access.log ranges;\n"
         << "  client_body_temp_path " << dir_ << "/tmp;\n  proxy_temp_path " << dir_ << "/tmp;\n"
         << "  fastcgi_temp_path " << dir_ << "/tmp;\n  uwsgi_temp_path " << dir_ << "/tmp;\n"
         << "  scgi_temp_path " << dir_ << "/tmp;\n"
         << "  server {\n    listen 127.0.0.1:" << port_ << ";\n    root " << dir_
         << "/www;\n  }\n}\n";
    conf.close();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test process
      execl(kBinary, kBinary, "-p", dir_.c_str(), "-c", (dir_ + "/nginx.conf").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !Accepting(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  ~NginxServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  // Writes `data` as www/<name> and returns its URL.
  template <typename Bytes>
  std::string Put(const std::string& name, const Bytes& data) {
    std::ofstream f(dir_ + "/www/" + name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()),  // NOLINT
            static_cast<std::streamsize>(data.size()));
    return Url(name);
  }
  std::string Url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }
  // One line per request served: "URI RANGE STATUS" ("-" when no Range was sent). nginx logs a
  // request just after answering it, so this waits (up to a second) for at least `expect`.
  std::vector<std::string> Requests(std::size_t expect = 0) const {
    std::vector<std::string> lines;
    for (int i = 0; i < 100; ++i) {
      lines.clear();
      std::ifstream log(dir_ + "/access.log");
      for (std::string line; std::getline(log, line);) lines.push_back(line);
      if (lines.size() >= expect) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return lines;
  }
  bool Accepting() const {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;  // NOLINT
    close(s);
    return ok;
  }

 private:
  static int FreePort() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);  // NOLINT
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);  // NOLINT
    int port = ntohs(a.sin_port);
    close(s);
    return port;
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vz::io::testing

// A TCP proxy that adds a fixed latency to every request, for `make bench`: the Python fault
// proxy copies every byte through the interpreter and, with 64 granules in flight on two cores,
// becomes the bottleneck instead of the latency it is meant to inject.
//
// Each accepted connection gets an upstream connection and two threads. Bytes from the client
// wait LATENCY_MS once per request (the first read after the upstream has answered, which for
// HTTP/1.1 without pipelining is one request); bytes from the upstream are forwarded at once.
//
// Usage: delay_proxy UPSTREAM_PORT LATENCY_MS   (prints "PORT <n>" once listening on 127.0.0.1)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace {

struct Pair {
  int client = -1;
  int upstream = -1;
  std::atomic<bool> answered{true};  // the upstream has sent bytes since the last request
  ~Pair() {
    close(client);
    close(upstream);
  }
};

bool WriteAll(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, static_cast<std::size_t>(n));
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

void Pump(const std::shared_ptr<Pair>& pair, bool from_client, int latency_ms) {
  const int in = from_client ? pair->client : pair->upstream;
  const int out = from_client ? pair->upstream : pair->client;
  static constexpr std::size_t kBuffer = std::size_t{256} * 1024;
  auto buffer = std::make_unique<char[]>(kBuffer);
  for (;;) {
    const ssize_t n = read(in, buffer.get(), kBuffer);
    if (n <= 0) break;
    if (from_client && latency_ms > 0 && pair->answered.exchange(false)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
    }
    if (!from_client) pair->answered = true;
    if (!WriteAll(out, buffer.get(), n)) break;
  }
  shutdown(out, SHUT_WR);
  shutdown(in, SHUT_RD);
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: delay_proxy UPSTREAM_PORT LATENCY_MS\n");
    return 2;
  }
  const int upstream_port = std::atoi(argv[1]);
  const int latency_ms = std::atoi(argv[2]);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||  // NOLINT
      listen(listener, 512) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {  // NOLINT
    std::perror("delay_proxy: listen");
    return 1;
  }
  std::printf("PORT %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int client = accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto pair = std::make_shared<Pair>();
    pair->client = client;
    pair->upstream = Connect(upstream_port);
    if (pair->upstream < 0) continue;  // the pair closes the client
    std::thread(Pump, pair, true, latency_ms).detach();
    std::thread(Pump, pair, false, latency_ms).detach();
  }
}

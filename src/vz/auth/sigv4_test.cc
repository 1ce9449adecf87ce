// SigV4 against the AWS test-suite vectors in ../shared/fixtures/aws/sigv4_testsuite.
#include "vz/auth/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vz::auth {
namespace {

const std::string kSuite = std::string(VZ_SOURCE_DIR) + "/../shared/fixtures/aws/sigv4_testsuite";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Parses a test-suite .req file ("METHOD /path?query HTTP/1.1", headers, blank, body).
SigV4Request ParseReq(const std::string& text, std::string* body) {
  SigV4Request req;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  req.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::stringstream qs(target.substr(q + 1));
    std::string kv;
    while (std::getline(qs, kv, '&')) {
      auto eq = kv.find('=');
      req.query.emplace_back(PercentDecode(kv.substr(0, eq)),
                             eq == std::string::npos ? "" : PercentDecode(kv.substr(eq + 1)));
    }
  }
  while (std::getline(in, line) && !line.empty()) {
    auto colon = line.find(':');
    req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::stringstream rest;
  rest << in.rdbuf();
  *body = rest.str();
  return req;
}

class SigV4Vectors : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4Vectors, MatchesCanonicalRequestStringToSignAndAuthorization) {
  const std::string dir = kSuite + "/" + GetParam() + "/" + GetParam();
  if (!std::filesystem::exists(dir + ".req")) GTEST_SKIP() << "shared fixtures not present";
  std::string body;
  SigV4Request req = ParseReq(Slurp(dir + ".req"), &body);
  AwsCredentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  if (GetParam() == "get-vanilla-with-session-token") {
    creds.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  req.payload_sha256 = Sha256Hex(body);
  auto sig = SignV4(req, creds, "us-east-1", "service", "20150830T123600Z");
  EXPECT_EQ(sig.canonical_request, Slurp(dir + ".creq"));
  EXPECT_EQ(sig.string_to_sign, Slurp(dir + ".sts"));
  EXPECT_EQ(sig.authorization, Slurp(dir + ".authz"));
}

INSTANTIATE_TEST_SUITE_P(AwsSuite, SigV4Vectors,
                         ::testing::Values("get-vanilla", "get-vanilla-query-order-key-case",
                                           "get-vanilla-with-session-token",
                                           "post-x-www-form-urlencoded"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(SigV4, EncodingAndDates) {
  EXPECT_EQ(UriEncode("a b/c~d", true), "a%20b/c~d");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace vz::auth

#include "vz/auth/netrc.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace vz::auth {
namespace {

TEST(Netrc, ParsesMachinesDefaultAndMacros) {
  auto e = ParseNetrc(
      "machine urs.earthdata.nasa.gov login alice password \"p a ss\"\n"
      "# a comment\n"
      "macdef init\n  cd /tmp\n  ls\n\n"
      "machine other login bob\n  password x account y\n"
      "default login anon password guest\n",
      "test");
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  ASSERT_EQ(e->size(), 3u);
  auto urs = FindNetrc(*e, "urs.earthdata.nasa.gov");
  ASSERT_TRUE(urs.has_value());
  EXPECT_EQ(urs->login, "alice");
  EXPECT_EQ(urs->password, "p a ss");
  EXPECT_EQ(FindNetrc(*e, "other")->password, "x");
  EXPECT_EQ(FindNetrc(*e, "unknown.host")->login, "anon");
}

TEST(Netrc, ErrorsNameTheFile) {
  auto e = ParseNetrc("login alice", "/home/u/.netrc");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("/home/u/.netrc"), std::string::npos);
  EXPECT_FALSE(ParseNetrc("machine", "f").ok());
  EXPECT_FALSE(ParseNetrc("machine a bogus b", "f").ok());
}

TEST(Netrc, RefusesAFileOthersCanRead) {
  char tmpl[] = "/tmp/vz_netrc_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "machine h login u password p\n";
  chmod(tmpl, 0644);
  auto open = LoadNetrc(tmpl);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code(), ErrorCode::kPermission);
  EXPECT_NE(open.error().message().find("chmod 600"), std::string::npos);
  chmod(tmpl, 0600);
  auto ok = LoadNetrc(tmpl);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(FindNetrc(*ok, "h")->password, "p");
  unlink(tmpl);
  EXPECT_EQ(LoadNetrc(tmpl).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vz::auth

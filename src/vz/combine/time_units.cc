#include "vz/combine/time_units.h"

#include <cctype>
#include <cstdint>
#include <string>

namespace vz::combine {

namespace {

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d.
std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool Done() const { return pos_ >= s_.size(); }
  char Peek() const { return Done() ? '\0' : s_[pos_]; }
  void SkipSpaces() {
    while (!Done() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) ++pos_;
  }
  bool Accept(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // Up to `max_digits` digits; false when there are none.
  bool Int(std::int64_t& v, std::size_t max_digits = 9) {
    std::size_t n = 0;
    v = 0;
    while (!Done() && n < max_digits && std::isdigit(static_cast<unsigned char>(s_[pos_])) != 0) {
      v = v * 10 + (s_[pos_++] - '0');
      ++n;
    }
    return n > 0;
  }
  double Fraction() {
    double f = 0;
    double scale = 0.1;
    while (!Done() && std::isdigit(static_cast<unsigned char>(s_[pos_])) != 0) {
      f += scale * (s_[pos_++] - '0');
      scale /= 10;
    }
    return f;
  }
  std::string_view Rest() const { return s_.substr(pos_); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

std::optional<double> UnitSeconds(std::string unit) {
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit == "seconds" || unit == "second" || unit == "secs" || unit == "sec" || unit == "s") {
    return 1.0;
  }
  if (unit == "minutes" || unit == "minute" || unit == "mins" || unit == "min") return 60.0;
  if (unit == "hours" || unit == "hour" || unit == "hrs" || unit == "hr" || unit == "h") {
    return 3600.0;
  }
  if (unit == "days" || unit == "day" || unit == "d") return 86400.0;
  if (unit == "weeks" || unit == "week") return 604800.0;
  return std::nullopt;
}

}  // namespace

std::optional<TimeUnits> ParseTimeUnits(std::string_view units) {
  const auto since = units.find(" since ");
  if (since == std::string_view::npos) return std::nullopt;
  std::string_view unit = units.substr(0, since);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front())) != 0) {
    unit.remove_prefix(1);
  }
  auto seconds = UnitSeconds(std::string(unit));
  if (!seconds) return std::nullopt;
  Scanner s(units.substr(since + 7));
  s.SkipSpaces();
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  const bool negative_year = s.Accept('-');
  if (!s.Int(y, 4) || !s.Accept('-') || !s.Int(mo, 2) || !s.Accept('-') || !s.Int(d, 2)) {
    return std::nullopt;
  }
  if (negative_year) y = -y;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  double frac = 0;
  if (s.Accept('T') || s.Accept(' ')) {
    s.SkipSpaces();
    if (s.Int(h, 2)) {
      if (!s.Accept(':') || !s.Int(mi, 2)) return std::nullopt;
      if (s.Accept(':')) {
        if (!s.Int(sec, 2)) return std::nullopt;
        if (s.Accept('.')) frac = s.Fraction();
      }
    }
  }
  if (h > 24 || mi > 59 || sec > 60) return std::nullopt;
  // Zone: Z, UTC, GMT, +HH[:MM], -HH[:MM]; nothing else may follow.
  s.SkipSpaces();
  double offset = 0;
  if (s.Accept('Z')) {
  } else if (s.Rest().rfind("UTC", 0) == 0 || s.Rest().rfind("GMT", 0) == 0) {
    s.Accept(s.Peek());
    s.Accept(s.Peek());
    s.Accept(s.Peek());
  }
  s.SkipSpaces();
  if (s.Peek() == '+' || s.Peek() == '-') {
    const int sign = s.Accept('-') ? -1 : (s.Accept('+'), 1);
    std::int64_t oh = 0, om = 0;
    if (!s.Int(oh, 2)) return std::nullopt;
    if (s.Accept(':')) {
      if (!s.Int(om, 2)) return std::nullopt;
    } else {
      s.Int(om, 2);
    }
    offset = sign * static_cast<double>(oh * 3600 + om * 60);
  }
  s.SkipSpaces();
  if (!s.Done()) return std::nullopt;
  TimeUnits t;
  t.seconds_per_unit = *seconds;
  t.epoch = static_cast<double>(DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) + frac -
            offset;
  return t;
}

}  // namespace vz::combine

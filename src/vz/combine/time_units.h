// CF time units ("days since 2002-04-01", "seconds since 1981-01-01 00:00:00 UTC") for the
// standard calendar: enough to re-encode one granule's time values into another's units.
#pragma once

#include <optional>
#include <string_view>

namespace vz::combine {

struct TimeUnits {
  double seconds_per_unit = 1;
  double epoch = 0;  // the reference date, in seconds since 1970-01-01T00:00:00Z
};

// nullopt for anything but "<unit> since <date>[ <time>][ <zone>]" with unit seconds, minutes,
// hours, days or weeks (months and years have no fixed length in CF).
std::optional<TimeUnits> ParseTimeUnits(std::string_view units);

// `value` in `from` expressed in `to`.
inline double Reencode(double value, const TimeUnits& from, const TimeUnits& to) {
  return (value * from.seconds_per_unit + (from.epoch - to.epoch)) / to.seconds_per_unit;
}

}  // namespace vz::combine

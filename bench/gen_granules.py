#!/usr/bin/python3
"""Generates MUR-like daily SST granules (netCDF-4) for `make bench` and `make demo`.

  gen_granules.py --count N --out DIR [--small | --grace] [--start YYYY-MM-DD]

Each granule has time(1, unlimited, int32 "seconds since 1981-01-01 00:00:00 UTC"), lat and lon
float32 coordinate variables, and four (time, lat, lon) variables chunked (1, 450, 900), deflate
level 4 + shuffle like MUR L4: analysed_sst int16 (scale 0.001, offset 298.15, _FillValue -32768),
analysis_error int16, mask int8, sea_ice_fraction int8. Full size is 1 x 1800 x 3600 (0.1 degree);
--small makes 1 x 180 x 360 with chunks (1, 90, 180). Data are smooth fields (so they compress
like real ones) that change from day to day; the output is deterministic for given arguments.

--grace makes GRACE-like monthly mascon granules instead: time(1, "days since 2002-01-01") with
time_bounds(time, bounds), lat 360 x lon 720 (0.5 degree), lwe_thickness and uncertainty float32
chunked (1, 360, 720) with deflate level 4 + shuffle, and a land_mask int8 (lat, lon).
"""
import argparse
import datetime as dt
import os
import sys

import netCDF4
import numpy as np

EPOCH = dt.datetime(1981, 1, 1)


def fields(nlat, nlon, day):
    """Vectorised smooth fields for one day: (sst_raw int16, err int16, mask int8, ice int8)."""
    lat = np.linspace(-89.95, 89.95, nlat, dtype=np.float64)[:, None]
    lon = np.linspace(-179.95, 179.95, nlon, dtype=np.float64)[None, :]
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    phase = 2 * np.pi * day / 365.25
    kelvin = (271.35 + 31.0 * np.cos(la) ** 2 + 1.2 * np.sin(2 * lo + phase) * np.cos(la)
              + 0.6 * np.sin(5 * la + 3 * lo - phase) - 3.0 * np.sin(la) * np.cos(phase))
    # Land: a few smooth blobs (continents), constant over time.
    land = ((np.sin(2.0 * lo + 0.5) * np.cos(3.0 * la) > 0.55)
            | (np.abs(lat) > 85.0) & (lat < 0))
    ice = np.clip((np.abs(lat) - 60.0) / 20.0 - 0.2 * np.cos(phase) * np.sign(lat), 0.0, 1.0)
    ice = np.where(land, 0.0, ice)
    kelvin = np.where(ice > 0, np.maximum(kelvin, 271.35), kelvin)
    sst = np.round((kelvin - 298.15) / 0.001)
    sst = np.where(land, -32768, np.clip(sst, -32767, 32767)).astype(np.int16)
    err = np.round(0.35 + 0.1 * np.cos(la * 3) ** 2 + 0.02 * np.sin(lo * 7 + phase), 2)
    err = np.where(land, -32768, np.round(err / 0.01)).astype(np.int16)
    mask = np.where(land, 2, np.where(ice > 0, 9, 1)).astype(np.int8)
    ice_raw = np.where(land | (ice <= 0), -128, np.round(ice * 100)).astype(np.int8)
    return sst, err, mask, ice_raw


def write_granule(path, date, small):
    nlat, nlon = (180, 360) if small else (1800, 3600)
    chunks = (1, 90, 180) if small else (1, 450, 900)
    day = (date - EPOCH).days
    sst, err, mask, ice = fields(nlat, nlon, day)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.7, ACDD-1.3"
        ds.title = "Daily MUR-like SST, Final product (synthetic benchmark granule)"
        ds.summary = "Synthetic data with the structure of MUR L4 v4.1; not real observations."
        ds.start_time = date.strftime("%Y%m%dT090000Z")
        ds.stop_time = date.strftime("%Y%m%dT090000Z")
        ds.spatial_resolution = "1 degree" if small else "0.1 degrees"
        ds.createDimension("time", None)
        ds.createDimension("lat", nlat)
        ds.createDimension("lon", nlon)
        t = ds.createVariable("time", "i4", ("time",))
        t.long_name = "reference time of sst field"
        t.standard_name = "time"
        t.axis = "T"
        t.units = "seconds since 1981-01-01 00:00:00 UTC"
        t.comment = "Nominal time of analyzed fields"
        t[0] = np.int32(day * 86400 + 9 * 3600)
        lat = ds.createVariable("lat", "f4", ("lat",), fill_value=False)
        lat.long_name = "latitude"
        lat.standard_name = "latitude"
        lat.axis = "Y"
        lat.units = "degrees_north"
        lat.valid_min = np.float32(-90.0)
        lat.valid_max = np.float32(90.0)
        lat[:] = np.linspace(-89.95, 89.95, nlat, dtype=np.float32)
        lon = ds.createVariable("lon", "f4", ("lon",), fill_value=False)
        lon.long_name = "longitude"
        lon.standard_name = "longitude"
        lon.axis = "X"
        lon.units = "degrees_east"
        lon.valid_min = np.float32(-180.0)
        lon.valid_max = np.float32(180.0)
        lon[:] = np.linspace(-179.95, 179.95, nlon, dtype=np.float32)
        dims = ("time", "lat", "lon")
        common = dict(zlib=True, complevel=4, shuffle=True, chunksizes=chunks)

        v = ds.createVariable("analysed_sst", "i2", dims, fill_value=np.int16(-32768), **common)
        v.set_auto_maskandscale(False)
        v.long_name = "analysed sea surface temperature"
        v.standard_name = "sea_surface_foundation_temperature"
        v.units = "kelvin"
        v.scale_factor = np.float32(0.001)
        v.add_offset = np.float32(298.15)
        v.valid_min = np.int16(-32767)
        v.valid_max = np.int16(32767)
        v.comment = "synthetic"
        v[0] = sst

        v = ds.createVariable("analysis_error", "i2", dims, fill_value=np.int16(-32768), **common)
        v.set_auto_maskandscale(False)
        v.long_name = "estimated error standard deviation of analysed_sst"
        v.units = "kelvin"
        v.scale_factor = np.float32(0.01)
        v.add_offset = np.float32(0.0)
        v.valid_min = np.int16(0)
        v.valid_max = np.int16(32767)
        v[0] = err

        v = ds.createVariable("mask", "i1", dims, fill_value=np.int8(-128), **common)
        v.set_auto_maskandscale(False)
        v.long_name = "sea/land field composite mask"
        v.valid_min = np.int8(1)
        v.valid_max = np.int8(31)
        v.flag_masks = np.array([1, 2, 4, 8, 16], dtype=np.int8)
        v.flag_meanings = "open_sea land open_lake open_sea_with_ice_in_the_grid " \
                          "open_lake_with_ice_in_the_grid"
        v[0] = mask

        v = ds.createVariable("sea_ice_fraction", "i1", dims, fill_value=np.int8(-128), **common)
        v.set_auto_maskandscale(False)
        v.long_name = "sea ice area fraction"
        v.standard_name = "sea_ice_area_fraction"
        v.units = "1"
        v.scale_factor = np.float32(0.01)
        v.add_offset = np.float32(0.0)
        v.valid_min = np.int8(0)
        v.valid_max = np.int8(100)
        v[0] = ice


def write_grace(path, month):
    """One GRACE-like monthly granule; `month` counts from January 2002."""
    nlat, nlon = 360, 720
    lat = np.linspace(-89.75, 89.75, nlat, dtype=np.float32)
    lon = np.linspace(0.25, 359.75, nlon, dtype=np.float32)
    la, lo = np.deg2rad(lat)[:, None], np.deg2rad(lon)[None, :]
    start = dt.datetime(2002 + month // 12, month % 12 + 1, 1)
    end = dt.datetime(2002 + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    base = dt.datetime(2002, 1, 1)
    bounds = np.array([[(start - base).days, (end - base).days]], dtype=np.float64)
    phase = 2 * np.pi * month / 12
    lwe = (8.0 * np.sin(3 * lo + phase) * np.cos(la) ** 2 + 2.0 * np.cos(5 * la - phase)
           - 0.05 * month * np.sin(la)).astype(np.float32)
    land = (np.sin(2.0 * lo + 0.5) * np.cos(3.0 * la) > 0.55).astype(np.int8)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.6"
        ds.title = "GRACE-like monthly mass grid (synthetic benchmark granule)"
        ds.time_coverage_start = start.strftime("%Y-%m-%dT00:00:00Z")
        ds.time_coverage_end = end.strftime("%Y-%m-%dT00:00:00Z")
        ds.createDimension("time", None)
        ds.createDimension("lat", nlat)
        ds.createDimension("lon", nlon)
        ds.createDimension("bounds", 2)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2002-01-01T00:00:00Z"
        t.standard_name = "time"
        t.bounds = "time_bounds"
        t[0] = bounds.mean()
        tb = ds.createVariable("time_bounds", "f8", ("time", "bounds"))
        tb.units = t.units
        tb[:] = bounds
        for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
            v = ds.createVariable(name, "f4", (name,), fill_value=False)
            v.units = units
            v[:] = values
        common = dict(zlib=True, complevel=4, shuffle=True, chunksizes=(1, nlat, nlon))
        v = ds.createVariable("lwe_thickness", "f4", ("time", "lat", "lon"),
                              fill_value=np.float32(-99999.0), **common)
        v.units = "cm"
        v.long_name = "Liquid_Water_Equivalent_Thickness"
        v[0] = lwe
        v = ds.createVariable("uncertainty", "f4", ("time", "lat", "lon"),
                              fill_value=np.float32(-99999.0), **common)
        v.units = "cm"
        v[0] = np.abs(lwe) * 0.1 + 1.0
        v = ds.createVariable("land_mask", "i1", ("lat", "lon"), zlib=True)
        v[:] = land


def main():
    ap = argparse.ArgumentParser(description="Generate MUR-like daily granules (netCDF-4).")
    ap.add_argument("--count", type=int, required=True, help="number of daily granules")
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--small", action="store_true", help="1x180x360, chunks 1x90x180")
    ap.add_argument("--grace", action="store_true", help="GRACE-like monthly granules")
    ap.add_argument("--start", default="2023-01-01", help="first day (YYYY-MM-DD)")
    args = ap.parse_args()
    if args.count < 1:
        ap.error("--count must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    start = dt.datetime.strptime(args.start, "%Y-%m-%d")
    for i in range(args.count):
        if args.grace:
            path = os.path.join(args.out, f"GRACE-LIKE_MASCON_{2002 + i // 12}{i % 12 + 1:02d}.nc")
            write_grace(path + ".part", i)
            os.replace(path + ".part", path)
            print(f"{path}  {os.path.getsize(path)} bytes", flush=True)
            continue
        date = start + dt.timedelta(days=i)
        name = date.strftime("%Y%m%d") + "090000-JPL-L4_GHRSST-SSTfnd-MUR-GLOB-v02.0-fv04.1.nc"
        path = os.path.join(args.out, name)
        write_granule(path + ".part", date, args.small)
        os.replace(path + ".part", path)
        print(f"{path}  {os.path.getsize(path)} bytes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

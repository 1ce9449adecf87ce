#!/usr/bin/python3
"""Writes a DMR++ sidecar (GRANULE.dmrpp) beside each netCDF-4 / HDF5 granule given, in the form
Hyrax's build_dmrpp 3.21 writes, from what h5py reports (chunk offsets, sizes and filter masks,
filters, fill values, dimension scales, attributes). For the remote benchmark only: the
sidecars PO.DAAC publishes come from build_dmrpp; these make the same requests possible for the
generated MUR-like granules.

  make_dmrpp.py GRANULE...
"""
import sys
from xml.sax.saxutils import escape, quoteattr

import h5py
import numpy as np

TYPES = {"i1": "Int8", "u1": "Byte", "i2": "Int16", "u2": "UInt16", "i4": "Int32",
         "u4": "UInt32", "i8": "Int64", "u8": "UInt64", "f4": "Float32", "f8": "Float64"}
HIDDEN = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Netcdf4Dimid",
          "_Netcdf4Coordinates", "_NCProperties"}


def attribute(name, value, pad):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        vals, typ = [value], "String"
    else:
        arr = np.atleast_1d(np.asarray(value))
        typ = TYPES.get(arr.dtype.str[1:])
        if typ is None:
            return ""
        vals = [repr(v.item()) for v in arr]
    body = "".join(f"<Value>{escape(v)}</Value>" for v in vals)
    return f'{pad}<Attribute name={quoteattr(name)} type="{typ}">{body}</Attribute>\n'


def variable(ds, pad):
    typ = TYPES.get(ds.dtype.str[1:])
    if typ is None:
        return ""
    name = ds.name.rsplit("/", 1)[-1]
    out = [f"{pad}<{typ} name={quoteattr(name)}>\n"]
    scale = ds.attrs.get("CLASS") == b"DIMENSION_SCALE" and ds.ndim == 1
    for axis, dim in enumerate(ds.dims):
        if scale:
            out.append(f"{pad}  <Dim name={quoteattr(ds.name)}/>\n")
        elif len(dim):
            out.append(f"{pad}  <Dim name={quoteattr(dim[0].name)}/>\n")
        else:
            out.append(f'{pad}  <Dim size="{ds.shape[axis]}"/>\n')
    for k, v in ds.attrs.items():
        if k not in HIDDEN:
            out.append(attribute(k, v, pad + "  "))
    comp = []
    if ds.shuffle:
        comp.append("shuffle")
    if ds.compression == "gzip":
        comp.append("deflate")
    if ds.fletcher32:
        comp.append("fletcher32")
    order = "BE" if ds.dtype.byteorder == ">" else "LE"
    fill = ds.fillvalue.item() if ds.fillvalue is not None else 0
    attrs = f' compressionType="{" ".join(comp)}"' if comp else ""
    if ds.compression == "gzip":
        attrs += f' deflateLevel="{ds.compression_opts}"'
    out.append(f'{pad}  <dmrpp:chunks{attrs} fillValue="{fill!r}" byteOrder="{order}">\n')
    if ds.chunks:
        sizes = " ".join(str(c) for c in ds.chunks)
        out.append(f"{pad}    <dmrpp:chunkDimensionSizes>{sizes}</dmrpp:chunkDimensionSizes>\n")
        for i in range(ds.id.get_num_chunks()):
            info = ds.id.get_chunk_info(i)
            pos = ",".join(str(p) for p in info.chunk_offset)
            fm = f' fm="{info.filter_mask}"' if info.filter_mask else ""
            out.append(f'{pad}    <dmrpp:chunk offset="{info.byte_offset}" nBytes="{info.size}" '
                       f'chunkPositionInArray="[{pos}]"{fm}/>\n')
    elif ds.id.get_offset() is not None:
        out.append(f'{pad}    <dmrpp:chunk offset="{ds.id.get_offset()}" '
                   f'nBytes="{ds.id.get_storage_size()}"/>\n')
    out.append(f"{pad}  </dmrpp:chunks>\n{pad}</{typ}>\n")
    return "".join(out)


def group(g, pad):
    out = []
    for name, obj in g.items():
        if isinstance(obj, h5py.Dataset) and obj.attrs.get("CLASS") == b"DIMENSION_SCALE":
            out.append(f'{pad}<Dimension name={quoteattr(name)} size="{obj.shape[0]}"/>\n')
    for name, obj in g.items():
        if isinstance(obj, h5py.Dataset):
            if str(obj.attrs.get("NAME", b"")).find("not a netCDF variable") < 0:
                out.append(variable(obj, pad))
        elif isinstance(obj, h5py.Group):
            out.append(f"{pad}<Group name={quoteattr(name)}>\n{group(obj, pad + '  ')}"
                       f"{pad}</Group>\n")
    for k, v in g.attrs.items():
        if k not in HIDDEN:
            out.append(attribute(k, v, pad))
    return "".join(out)


def main():
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            body = group(f, "    ")
        name = path.rsplit("/", 1)[-1]
        with open(path + ".dmrpp", "w") as out:
            out.write('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                      '<Dataset xmlns="http://xml.opendap.org/ns/DAP/4.0#" '
                      'xmlns:dmrpp="http://xml.opendap.org/dap/dmrpp/1.0.0#" dapVersion="4.0" '
                      f'dmrVersion="1.0" name={quoteattr(name)} '
                      'dmrpp:href="OPeNDAP_DMRpp_DATA_ACCESS_URL" dmrpp:version="3.21.1">\n'
                      f"{body}</Dataset>\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Small helpers the safety tests share: granules along time written by h5py, and a full disk."""
import os

import h5py
import numpy as np


def make_time_granules(d, n, shape, chunks, variables, data):
    """n granules g000.nc ... in `d`: time (one step a day, unlimited), y and x dimension scales,
    and `variables` of `shape` (time first) in `chunks`, each filled with data(i, name)."""
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(d, f"g{i:03d}.nc")
        with h5py.File(p, "w") as f:
            t = f.create_dataset("time", data=np.array([i * 86400], dtype="i4"),
                                 maxshape=(None,), chunks=(1,))
            t.attrs["units"] = "seconds since 2020-01-01"
            t.make_scale("time")
            y = f.create_dataset("y", data=np.arange(shape[1], dtype="f4"))
            y.make_scale("y")
            x = f.create_dataset("x", data=np.arange(shape[2], dtype="f4"))
            x.make_scale("x")
            for name in variables:
                v = f.create_dataset(name, data=data(i, name), chunks=chunks,
                                     maxshape=(None,) + tuple(shape[1:]))
                for k, scale in enumerate((t, y, x)):
                    v.dims[k].attach_scale(scale)
        paths.append(p)
    return paths


def fill_disk(directory):
    """Fills the file system of `directory` to its last block (a file named filler)."""
    with open(os.path.join(directory, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass

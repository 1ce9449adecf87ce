// Opens vzgen's kerchunk references with zarrita (JavaScript) through @zarrita/storage's
// ReferenceStore and compares every listed array with the values h5py read from the originals.
//
//   node check.mjs CASES.json
//
// CASES.json: [{"name", "refs": store.json, "expected": values.json}], where values.json maps
// an array's path to {"shape", "kind", "values"} (values flattened in C order; floats as numbers
// with NaN/Infinity as the strings "NaN"/"Infinity"/"-Infinity"; 64-bit integers as strings;
// bytes and text as strings). Prints one line per array, "OK <case> <path>" or
// "DIFF|ERROR <case> <path>: why", and a summary line; exits 0 whatever it found (the caller
// judges the lines against the known differences).
import { readFile } from "node:fs/promises";
import { ReferenceStore } from "@zarrita/storage";
import * as zarr from "zarrita";

function same(want, got, kind) {
  if (kind === "f") {
    if (typeof want === "string") {
      const w = Number(want);
      return Number.isNaN(w) ? Number.isNaN(got) : got === w;
    }
    return got === want;
  }
  if (kind === "i" || kind === "u") return String(got) === String(want);
  if (kind === "b") return Boolean(got) === want;
  return got === want;
}

// zarrita's value at flat index i, as a number, bigint, boolean or string.
function valueAt(data, i) {
  if (typeof data.get === "function") {
    const v = data.get(i);
    return v instanceof Uint8Array ? new TextDecoder().decode(v).replace(/\0+$/, "") : v;
  }
  return data[i];
}

async function checkArray(store, path, want) {
  const arr = await zarr.open.v2(zarr.root(store).resolve(path), { kind: "array" });
  const got = await zarr.get(arr);
  if (arr.shape.length === 0) {
    // A 0-d array: zarrita returns the value itself.
    if (JSON.stringify(want.shape) !== "[]") return `0-d, h5py shape ${JSON.stringify(want.shape)}`;
    const v = got instanceof Uint8Array ? new TextDecoder().decode(got).replace(/\0+$/, "") : got;
    return same(want.values[0], v, want.kind)
      ? null
      : `${String(v)}, h5py ${String(want.values[0])} (dtype ${arr.dtype})`;
  }
  const shape = got.shape;
  if (JSON.stringify(shape) !== JSON.stringify(want.shape)) {
    return `shape ${JSON.stringify(shape)}, h5py ${JSON.stringify(want.shape)}`;
  }
  const n = want.values.length;
  if (got.data.length !== n) return `${got.data.length} values, h5py ${n}`;
  for (let i = 0; i < n; i++) {
    const v = valueAt(got.data, i);
    if (!same(want.values[i], v, want.kind)) {
      return `first difference at flat index ${i}: ${String(v)}, h5py ${String(want.values[i])} (dtype ${arr.dtype})`;
    }
  }
  return null;
}

const cases = JSON.parse(await readFile(process.argv[2], "utf8"));
const counts = { OK: 0, DIFF: 0, ERROR: 0 };
for (const c of cases) {
  let spec;
  try {
    spec = JSON.parse(await readFile(c.refs, "utf8"));
  } catch (e) {
    console.log(`ERROR ${c.name} *: JSON.parse of the reference file: ${e.message}`);
    counts.ERROR++;
    continue;
  }
  const store = ReferenceStore.fromSpec(spec);
  const expected = JSON.parse(await readFile(c.expected, "utf8"));
  for (const [path, want] of Object.entries(expected)) {
    let why;
    try {
      why = await checkArray(store, path, want);
    } catch (e) {
      const cause = e.cause ? ` (${e.cause.message ?? e.cause})` : "";
      console.log(`ERROR ${c.name} ${path}: ${e.name}: ${e.message}${cause}`);
      counts.ERROR++;
      continue;
    }
    const tag = why ? "DIFF" : "OK";
    console.log(`${tag} ${c.name} ${path}${why ? ": " + why : ""}`);
    counts[tag]++;
  }
}
console.log(`zarrita: ${counts.OK} arrays equal, ${counts.DIFF} different, ${counts.ERROR} errors`);

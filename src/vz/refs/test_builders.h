// Builders for the model objects the refs and materialize tests put together by hand.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "vz/model/dataset.h"
#include "vz/refs/kerchunk.h"

namespace vz::refs::test_builders {

using model::Array;
using model::Attribute;
using model::DType;
using Kind = DType::Kind;

inline DType Type(Kind kind, std::uint32_t size, char order = '<') {
  DType t;
  t.kind = kind;
  t.size = size;
  t.byte_order = order;
  return t;
}

inline Attribute Attr(std::string name, model::Json value) {
  Attribute a;
  a.name = std::move(name);
  a.value = std::move(value);
  return a;
}

inline Array MakeArray(std::string path, DType dtype, std::vector<std::uint64_t> shape,
                       model::Layout layout = model::Layout::kContiguous) {
  Array a;
  a.path = std::move(path);
  a.dtype = std::move(dtype);
  a.shape = shape;
  a.chunk_shape = shape;
  a.layout = layout;
  a.dims.assign(shape.size(), "");
  a.manifest.rank = shape.size();
  return a;
}

inline model::Group MakeGroup(std::string path, std::vector<Attribute> attrs = {}) {
  model::Group g;
  g.path = std::move(path);
  g.attributes = std::move(attrs);
  return g;
}

inline std::vector<std::uint8_t> Zlib(const std::vector<std::uint8_t>& raw) {
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> out(n);
  EXPECT_EQ(compress2(out.data(), &n, raw.data(), static_cast<uLong>(raw.size()), 6), Z_OK);
  out.resize(n);
  return out;
}

inline std::vector<std::uint8_t> Shuffle(const std::vector<std::uint8_t>& raw, std::size_t size) {
  std::vector<std::uint8_t> out(raw.size());
  const std::size_t n = raw.size() / size;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t b = 0; b < size; ++b) out[b * n + i] = raw[i * size + b];
  }
  return out;
}

template <typename T>
void Append(std::vector<std::uint8_t>& out, T v) {
  std::uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

// The dataset as kerchunk JSON (a failure is reported to the test).
inline std::string Write(const model::VirtualDataset& ds, KerchunkOptions options = {}) {
  std::ostringstream out;
  auto st = WriteKerchunkJson(ds, options, out);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().ToString());
  return out.str();
}

}  // namespace vz::refs::test_builders

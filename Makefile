# vzgen — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else here is a convenience around the CMake presets (CMakePresets.json).

SHELL := /bin/bash
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
SHARED ?= $(abspath ../shared)
# Python test environments: tests/requirements/NAME.txt (fully pinned) -> build/venv/NAME/.
VENV_DIR := build/venv
VENV_REQS := $(wildcard tests/requirements/*.txt)
VENV_STAMPS := $(patsubst tests/requirements/%.txt,$(VENV_DIR)/%/.stamp,$(VENV_REQS))
# Debian's Python (libhdf5 1.10) made the committed fixtures; `make fixtures` keeps using it.
PYTHON := /usr/bin/python3

# Debian 12 packages the build and the tests need. `make deps` installs the missing ones.
DEB_BUILD := cmake ninja-build g++ pkg-config libgtest-dev libfmt-dev libcli11-dev \
  nlohmann-json3-dev zlib1g-dev libbz2-dev libzstd-dev liblz4-dev libblosc-dev libaec-dev \
  libdeflate-dev libcurl4-openssl-dev libjemalloc-dev
# The Python readers of the tests come from PyPI (tests/requirements/*.txt), not from Debian;
# python3-numpy/-h5py/-netcdf4 remain for bench/gen_granules.py and tools/demo.sh.
DEB_TEST := python3 python3-venv python3-numpy python3-h5py python3-netcdf4 netcdf-bin time bc \
  nginx-light clang-format openssl
DEB_FUZZ := clang-14 libclang-rt-14-dev

.PHONY: all deps deps-fuzz build build-asan release test unit e2e demo bench install fixtures \
  fuzz fuzz-ci format format-check tidy clean venvs

all: build

deps:
	@DEB="$(DEB_BUILD) $(DEB_TEST)" ./tools/install-deps.sh

deps-fuzz:
	@DEB="$(DEB_FUZZ)" ./tools/install-deps.sh

build: deps
	cmake --preset dev >/dev/null
	cmake --build build/dev -j $(JOBS)

build-asan: deps
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)

release: deps
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

# One virtual environment per requirements file, rebuilt only when the file's sha256 changes
# (tools/make-venv.sh; the stamp holds the hash). Fails loudly if pip fails.
venvs: $(VENV_STAMPS)

$(VENV_DIR)/%/.stamp: tests/requirements/%.txt tools/make-venv.sh | deps
	./tools/make-venv.sh $< $(VENV_DIR)/$*

# Every test (unit, fuzz-corpus replay, CLI errors, the oracle over the fixtures and the shared
# corpus under both reader generations) under address + undefined-behaviour sanitizers.
test: build-asan venvs
	cd build/asan && ctest --output-on-failure -j $(JOBS) -LE bench

unit: build
	cd build/dev && ctest --output-on-failure -j $(JOBS) -L unit

demo: release venvs
	./tools/demo.sh build/release/src/vz/cli/vzgen

bench: release
	./bench/run.sh build/release

install: release
	cmake --install build/release --prefix $(PREFIX)

fixtures:
	$(PYTHON) tests/data/fixtures/make_fixtures.py tests/data/fixtures

fuzz: deps-fuzz deps
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz -j $(JOBS)

# Bounded fuzzing run for CI: each target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz-ci: fuzz
	./fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.cc' '*.h')

tidy: build
	run-clang-tidy -quiet -p build/dev $$(git ls-files 'src/*.cc' | grep -v _test.cc)

clean:
	rm -rf build out

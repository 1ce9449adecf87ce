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
  nlohmann-json3-dev zlib1g-dev libbz2-dev libzstd-dev liblz4-dev liblzf-dev libblosc-dev libaec-dev \
  libdeflate-dev libcurl4-openssl-dev libjemalloc-dev libxml2-dev
# The Python readers of the tests come from PyPI (tests/requirements/*.txt), not from Debian;
# python3-numpy/-h5py/-netcdf4 remain for bench/gen_granules.py and tools/demo.sh.
# python3-dev: Python.h for the package wheel (e2e.package).
DEB_TEST := python3 python3-venv python3-numpy python3-h5py python3-netcdf4 netcdf-bin time bc \
  nginx-light clang-format openssl python3-dev
# Node.js for the zarrita reader check: Debian's nodejs + npm, unless a node and npm are already
# on PATH (e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's npm).
DEB_JS := nodejs npm
DEB_FUZZ := clang-14 libclang-rt-14-dev
# Only for `make image` / `make image-test`: buildah builds and runs images without a daemon,
# debootstrap makes the Debian 12 base when no registry answers.
DEB_IMAGE := buildah debootstrap

# The job image and where buildah keeps it (vfs storage, this checkout only; docs/job.md).
IMAGE ?= localhost/vzgen:latest
IMAGE_STORE ?= build/image/storage

.PHONY: all deps deps-fuzz deps-image build build-asan release test unit e2e demo bench install \
  fixtures fuzz fuzz-ci format format-check tidy clean image image-test venvs venv-bench js-deps

all: build

deps:
	@DEB="$(DEB_BUILD) $(DEB_TEST)" ./tools/install-deps.sh

deps-fuzz:
	@DEB="$(DEB_FUZZ)" ./tools/install-deps.sh

deps-image:
	@DEB="$(DEB_IMAGE)" ./tools/install-deps.sh

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
# (tools/make-venv.sh; the stamp holds the hash). Fails loudly if pip fails. `make test` makes
# every one but bench's, which `make bench` makes.
venvs: $(filter-out $(VENV_DIR)/bench/.stamp,$(VENV_STAMPS))

venv-bench: $(VENV_DIR)/bench/.stamp

$(VENV_DIR)/%/.stamp: tests/requirements/%.txt tools/make-venv.sh | deps
	./tools/make-venv.sh $< $(VENV_DIR)/$*

# Every test (unit, fuzz-corpus replay, CLI errors, the oracle over the fixtures and the shared
# corpus under both reader generations) under address + undefined-behaviour sanitizers.
test: build-asan venvs js-deps
	cd build/asan && ctest --output-on-failure -j $(JOBS) -LE bench

# zarrita (npm) for e2e.js_reader, from tests/js/package-lock.json into build/js; reinstalled only
# when the lock file changes (its sha256 is kept in build/js/.stamp).
JS_DIR := build/js
js-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || DEB="$(DEB_JS)" ./tools/install-deps.sh
	@set -e; sum=$$(sha256sum tests/js/package-lock.json | cut -d' ' -f1); \
	if [ "$$(cat $(JS_DIR)/.stamp 2>/dev/null)" != "$$sum" ]; then \
	  echo "== npm ci (tests/js/package-lock.json)"; rm -rf $(JS_DIR); mkdir -p $(JS_DIR); \
	  cp tests/js/package.json tests/js/package-lock.json $(JS_DIR)/; \
	  cd $(JS_DIR) && npm ci --no-audit --no-fund --cache ../npm-cache >/dev/null; \
	  echo $$sum > .stamp; \
	fi

unit: build
	cd build/dev && ctest --output-on-failure -j $(JOBS) -L unit

demo: release $(VENV_DIR)/current/.stamp
	./tools/demo.sh build/release/src/vz/cli/vzgen

bench: release venv-bench
	BENCH_PYTHON=$(VENV_DIR)/bench/bin/python ./bench/run.sh build/release

# The collection job's image from deploy/Dockerfile, built with buildah (no Docker daemon). The
# Debian 12 base is pulled when a registry answers, else made with debootstrap and cached.
image: deps-image
	IMAGE=$(IMAGE) IMAGE_STORE=$(IMAGE_STORE) ./tools/image.sh build

# The image's entrypoint against the loopback servers, compared with the host build's `vzgen job`.
image-test: image release
	$(PYTHON) tests/e2e/image_test.py --vzgen build/release/src/vz/cli/vzgen \
	  --store $(IMAGE_STORE) --image $(IMAGE)

install: release
	cmake --install build/release --prefix $(PREFIX)

fixtures: $(VENV_DIR)/current/.stamp
	$(PYTHON) tests/data/fixtures/make_fixtures.py tests/data/fixtures
	$(VENV_DIR)/current/bin/python tests/data/fixtures/make_plugin_fixtures.py tests/data/fixtures

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

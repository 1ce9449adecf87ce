#!/usr/bin/env bash
# make-venv.sh REQUIREMENTS.txt VENV_DIR
#
# Builds the Python virtual environment VENV_DIR from a fully pinned requirements file with
# Debian's /usr/bin/python3 and pip from PyPI. VENV_DIR/.stamp holds the sha256 of the
# requirements file it was built from: when it matches, nothing is reinstalled (a second
# `make test` costs nothing); when it differs, the environment is rebuilt from scratch.
#
# Packages are installed with --no-deps and then `pip check` must pass: a requirements file that
# forgets a dependency fails here instead of pulling an unpinned version.
set -euo pipefail
req=$1
dir=$2
python=${VZ_BASE_PYTHON:-/usr/bin/python3}
name=$(basename "$req" .txt)
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$dir/bin/python" ] && [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ]; then
  touch "$dir/.stamp"  # newer than the requirements file again: make stops asking
  exit 0
fi

fail() {
  echo "error: venv '$name' ($dir) from $req: $1" >&2
  rm -rf "$dir"
  exit 1
}

echo "== venv $name: building $dir from $req"
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
"$python" -m venv "$dir" ||
  fail "'$python -m venv' failed (on Debian: apt-get install python3-venv)"
"$dir/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps -r "$req" ||
  fail "pip install failed (see above)"
"$dir/bin/pip" check --disable-pip-version-check ||
  fail "pip check failed: a dependency is missing from the pins or pinned incompatibly"
echo "$want" >"$dir/.stamp"
echo "== venv $name: ready in $(($(date +%s) - start)) s"

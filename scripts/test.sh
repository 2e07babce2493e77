#!/usr/bin/env bash
# Install what is needed, then lint and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
.venv/bin/ruff check .
rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then  # pytest: no tests collected (e.g. a -k that matches nothing)
    echo "test.sh: pytest collected no tests; nothing failed" >&2
    exit 0
fi
exit "$rc"

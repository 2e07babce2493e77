#!/usr/bin/env bash
# The main job: install what is needed, then run the full simulated RIG pipeline on Visual Reacher
# (random exploration → VAE pre-training → practice with imagined goals → evaluation on held-out
# goal images) and write runs/main/report.html. Extra arguments go to `rig run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
exec .venv/bin/rig run --env reacher --steps 5000 --eval-every 500 --seeds 0 --out runs/main "$@"

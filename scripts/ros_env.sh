# Source me (bash): the ROS 2 environment of this checkout, from the venv's Kilted wheels and the
# colcon workspace built by scripts/setup_ros.sh.   source scripts/ros_env.sh
_rig_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_rig_venv="${RIG_VENV:-$_rig_root/.venv}"
export AMENT_PREFIX_PATH="$_rig_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$_rig_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
if [ -f "$_rig_root/ros2_ws/install/setup.bash" ]; then
  # shellcheck disable=SC1091
  COLCON_CURRENT_PREFIX="$_rig_root/ros2_ws/install" source "$_rig_root/ros2_ws/install/setup.bash"
fi
export PATH="$_rig_venv/bin:$PATH"
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
unset _rig_root _rig_venv

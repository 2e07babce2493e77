#!/bin/bash
# Source ROS 2 and the rig-ros2 workspace, then run the command (default: the real-lab launch file).
set -e
source /opt/ros/kilted/setup.bash
source /opt/rig/ros2_ws/install/setup.bash
exec "$@"

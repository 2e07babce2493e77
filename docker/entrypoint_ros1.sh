#!/bin/bash
# ROS 1 side: the robot hosts the ROS master (ROS_MASTER_URI=http://<robot>:11311, as intera.sh sets it).
# `bridge` as the command starts ros1_bridge (ROS 1 + ROS 2 Foxy environments); anything else runs under
# ROS 1 Noetic + the intera workspace.
set -e
: "${ROS_MASTER_URI:?set ROS_MASTER_URI to the robot, e.g. http://sawyer.local:11311}"
if [ "$1" = "bridge" ]; then
  shift
  source /opt/ros/noetic/setup.bash
  source /opt/ros/foxy/setup.bash
  exec ros2 run ros1_bridge dynamic_bridge "$@"
fi
source /opt/ros/noetic/setup.bash
source /opt/intera_ws/devel/setup.bash
exec "$@"

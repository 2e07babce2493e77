#!/bin/bash
# ROS 1 side: the robot hosts the ROS master (ROS_MASTER_URI=http://<robot>:11311, as intera.sh sets it).
# `bridge-params FILE` loads FILE (launch/arm_bridge.yaml) onto the master and starts ros1_bridge's
# parameter_bridge; `bridge` starts its dynamic_bridge; anything else runs under ROS 1 Noetic + the intera
# workspace.
set -e
: "${ROS_MASTER_URI:?set ROS_MASTER_URI to the robot, e.g. http://sawyer.local:11311}"
if [ "$1" = "bridge-params" ]; then
  source /opt/ros/noetic/setup.bash
  rosparam load "$2"
  source /opt/ros/foxy/setup.bash
  exec ros2 run ros1_bridge parameter_bridge
fi
if [ "$1" = "bridge" ]; then
  shift
  source /opt/ros/noetic/setup.bash
  source /opt/ros/foxy/setup.bash
  exec ros2 run ros1_bridge dynamic_bridge "$@"
fi
source /opt/ros/noetic/setup.bash
source /opt/intera_ws/devel/setup.bash
exec "$@"

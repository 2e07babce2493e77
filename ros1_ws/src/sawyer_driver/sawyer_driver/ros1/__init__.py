"""The ROS 1 side (rospy, system Python): the driver node and the MuJoCo twin node. Import only in ROS 1
processes: Debian's ROS 1 and the ROS 2 wheels both install top-level std_msgs, geometry_msgs, sensor_msgs."""

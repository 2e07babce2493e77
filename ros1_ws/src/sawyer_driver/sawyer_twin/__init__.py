"""MuJoCo twin of the Sawyer's joint controller (CI stands it in for the robot): the arm physics
(``arm``), the URDF written from the sim model (``urdf``, ``model``) and its ROS 1 node (``sawyer_driver.ros1``)."""

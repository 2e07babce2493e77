"""`ros2 launch rig_policy sim_pusher.launch.py [graph:=/path/to/graph.yaml]`: the graph in launch/sim_pusher.yaml
(installed to share/rig_runtime/graphs), one launch_ros Node per entry."""

from rig_runtime.graph import launch_description


def generate_launch_description():
    return launch_description("sim_pusher.yaml")

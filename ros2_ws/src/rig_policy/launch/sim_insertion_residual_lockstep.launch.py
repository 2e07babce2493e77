"""`ros2 launch rig_policy sim_insertion_residual_lockstep.launch.py [graph:=/path/to/graph.yaml]`: residual RL on the
insertion task, the graph in launch/sim_insertion_residual_lockstep.yaml (installed to share/rig_runtime/graphs)."""

from rig_runtime.graph import launch_description


def generate_launch_description():
    return launch_description("sim_insertion_residual_lockstep.yaml")

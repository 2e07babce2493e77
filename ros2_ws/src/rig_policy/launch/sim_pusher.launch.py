"""`ros2 launch rig_policy sim_pusher.launch.py [graph:=/path/to/graph.yaml]`: the graph in launch/sim_pusher.yaml
(installed to share/rig_policy/graphs), one launch_ros Node per entry."""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from rig_policy.graph import launch_parameters, load_graph

GRAPH = Path(get_package_share_directory("rig_policy")) / "graphs" / "sim_pusher.yaml"


def _nodes(context, *args, **kwargs):
    graph = load_graph(LaunchConfiguration("graph").perform(context))
    return [
        Node(package=spec.package, executable=spec.executable, name=spec.name, output="screen",
             parameters=launch_parameters(spec, graph), remappings=list(spec.remappings.items()),
             respawn=spec.respawn)
        for spec in graph.nodes
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("graph", default_value=str(GRAPH), description="graph description (YAML)"),
        OpaqueFunction(function=_nodes),
    ])

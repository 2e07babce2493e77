"""Typed ROS parameters declared with their descriptions and ranges in one table per node."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

# name: (default, description, (low, high) or None)
ParamSpec = dict[str, tuple[Any, str, tuple[float, float] | None]]


def declare_parameters(node: Node, specs: ParamSpec) -> SimpleNamespace:
    """Declare typed parameters with descriptions and ranges; return their values."""
    values = {}
    for name, (default, description, bounds) in specs.items():
        descriptor = ParameterDescriptor(description=description)
        if bounds is not None and isinstance(default, bool):
            pass
        elif bounds is not None and isinstance(default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(bounds[0]), to_value=int(bounds[1]), step=1)]
        elif bounds is not None and isinstance(default, float):
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(bounds[0]), to_value=float(bounds[1]))]
        values[name] = node.declare_parameter(name, default, descriptor).value
    return SimpleNamespace(**values)

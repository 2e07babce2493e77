"""Shared rospy helpers for the driver and the twin: a one-line fatal exit, the master check, params."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import NoReturn


def fail(node: str, message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit non-zero (bad input must never become a motion)."""
    print(f"{node}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def wait_for_master(node: str, timeout: float) -> None:
    """Return once the ROS master answers; exit with one line after ``timeout`` seconds otherwise.
    (rospy.init_node alone would retry forever without saying so on stderr.)"""
    import rosgraph

    uri = os.environ.get("ROS_MASTER_URI", "http://localhost:11311")
    deadline = time.monotonic() + timeout
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(1.0)
    try:
        while True:
            try:
                rosgraph.Master(f"/{node}").getPid()
                return
            except Exception:  # connection refused, timeout, DNS: all mean "not reachable yet"
                if time.monotonic() > deadline:
                    fail(node, f"ROS master unreachable at {uri} for {timeout:.0f} s (robot on? ROS_MASTER_URI / ROS_IP right?)")
                time.sleep(0.2)
    finally:
        socket.setdefaulttimeout(old)


def param(name: str, default):
    """A rospy parameter (private ``~name`` unless absolute) with a default."""
    import rospy

    return rospy.get_param(name, default)

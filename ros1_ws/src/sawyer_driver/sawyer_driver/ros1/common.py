"""Shared rospy helpers for the driver and the twin: a one-line fatal exit, the master check, params, and the
deadlines of their 100 Hz loops."""

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


def sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reads ``deadline``; return at once when it has passed."""
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def advance_deadline(deadline: float, period: float) -> float:
    """The next tick's deadline; after a stall of more than a period (suspended?) restart from now, not catch up."""
    deadline += period
    now = time.monotonic()
    return now if deadline - now < -period else deadline


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

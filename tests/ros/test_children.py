"""Node processes die with whatever started them (graph_run, bringup, tests): no orphaned graph keeps running
on its ROS domain after its parent is SIGKILLed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import ROS_ENV

PARENT = """
import subprocess, sys, time
from rig_runtime.processes import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_children_get_sigterm_when_the_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=ROS_ENV)
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"parent did not start its child: {line!r}"
    child = int(line)
    os.kill(child, 0)  # alive
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        try:
            with open(f"/proc/{child}/stat") as f:  # reaped by init soon; a zombie counts as gone
                if f.read().split(") ")[1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.1)
    raise AssertionError("child still running 10 s after its parent was killed")

"""Demo collection through the real graph: collect_demos brings up sim + encoder + policy + demo_node +
scripted_teleop_node (+ trainer for weights) as separate processes and records a bag; the bag then holds
N demo episodes (steps flagged is_demo) whose /demo/goal is the latent and image of their final frame."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from conftest import ROOT

from rig_trainer.bag_dataset import STEP_TYPE
from rig_trainer.bags import iter_raw, make_typestore, open_bag

N_DEMOS = 3


def test_collect_scripted_demos_in_sim(ros_env, tmp_path):
    bag = tmp_path / "demos"
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "rig_bringup.collect_demos", "--out", str(bag), "--demos", str(N_DEMOS),
                          "--graph", str(ROOT / "launch" / "collect_demos_sim.yaml"), "--timeout", "150",
                          "--set", "scripted_teleop_node.demo_steps=25"],
                         env=ros_env, capture_output=True, text=True, timeout=240)
    print(f"collect_demos took {time.monotonic() - t0:.1f} s")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]

    typestore = make_typestore()
    steps, goals = {}, {}
    with open_bag(bag) as reader:
        for topic, _, _, data in iter_raw(reader, bag, ["/policy/experience", "/demo/goal"]):
            if topic == "/demo/goal":
                goal = typestore.deserialize_cdr(data, "rig_interfaces/msg/Goal")
                goals[goal.episode] = goal
            else:
                msg = typestore.deserialize_cdr(data, STEP_TYPE)
                steps.setdefault(msg.episode, []).append(msg)
    assert len(goals) == N_DEMOS, f"demo goals for episodes {sorted(goals)}"
    for episode, goal in goals.items():
        episode_steps = sorted(steps[episode], key=lambda m: m.t)
        acted, last = episode_steps[:-1], episode_steps[-1]
        assert last.is_last and last.t == goal.horizon and len(acted) == last.t >= 1
        assert [m.t for m in episode_steps] == list(range(last.t + 1)), "steps lost in the bag"
        assert all(m.is_demo for m in acted), ("teleop did not drive every step of the demo", [int(m.is_demo) for m in acted])
        assert np.array_equal(np.asarray(goal.latent), np.asarray(last.latent)), "goal latent is not the final frame's"
        assert bytes(goal.image.data) == bytes(last.image.data) and goal.image.width == last.image.width
        assert goal.source == "teleop"
    hands_moved = [np.ptp([[m.ee_pose.position.x, m.ee_pose.position.y] for m in steps[e]], axis=0).max() for e in goals]
    assert max(hands_moved) > 0.02, "the scripted teleop did not move the arm"

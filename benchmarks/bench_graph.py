"""Graph benchmarks, all nodes as separate processes over DDS on this machine:

1. realtime sim graph with the trainer training flat out: 10 Hz loop period error p50/p99/max (from the
   command stamps the policy takes at each tick) and camera-frame-to-command latency p50/p99 (image stamp
   → the command's arrival, via /policy/status). Three variants, one after the other:
   "executor" = the loop on an rclpy timer, trainer only niced (the first design);
   "thread_no_fifo" = "thread" below without SCHED_FIFO (what a machine without CAP_SYS_NICE gets);
   "thread" = the shipped defaults: own control thread on absolute monotonic deadlines, SCHED_FIFO when
   permitted, trainer's training thread under SCHED_IDLE;
2. lock-step reacher graph: env steps per second through the graph vs the in-process env (ratio).

    source scripts/ros_env.sh && python benchmarks/bench_graph.py [--seconds 60] [--only realtime|lockstep]
        [--variant executor|thread_no_fifo|thread|all] [--device cpu|cuda|cuda:N]   (trainer_node's device)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ros"))

from conftest import ROS_ENV, start_nodes, stop_all  # noqa: E402 - sets up the ROS environment of this process
from geometry_msgs.msg import TwistStamped  # noqa: E402
from graph_probe import Probe  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from rig_core.device import DEVICE_HELP, describe_device, device_or_exit  # noqa: E402
from rig_interfaces.msg import ExperienceStep, Weights  # noqa: E402


def pct(values: list[float]) -> str:
    a = np.asarray(values)
    return f"p50 {np.percentile(a, 50):.3f} / p99 {np.percentile(a, 99):.3f} / max {a.max():.3f} ms (n={len(a)})"


VARIANTS = {
    "executor": {"policy_node": {"control_loop": "executor", "realtime_priority": 0}, "trainer_node": {"sched_idle": False}},
    "thread_no_fifo": {"policy_node": {"realtime_priority": 0}},  # what a machine without CAP_SYS_NICE gets
    "thread": {},  # the defaults in the config files
}


def realtime(seconds: float, domain: int, tmp: Path, variant: str, device: str) -> None:
    env = {**ROS_ENV, "ROS_DOMAIN_ID": str(domain), "ROS_LOG_DIR": str(tmp / "log")}
    overrides = {"sim_node": {"env": "reacher"}, "episode_node": {"horizon": 50},
                 "trainer_node": {"env": "reacher", "exploration_steps": 50, "vae_pretrain_batches": 200,
                                  "publish_every": 200, "replay_capacity": 5000, "checkpoint_dir": "",
                                  "updates_per_step": 1000.0, "device": device}}  # train flat out: the worst case for the loop
    for node, params in VARIANTS[variant].items():
        overrides.setdefault(node, {}).update(params)
    load = os.getloadavg()
    print(f"[{variant}] load average before: {load[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    probe = Probe(domain)
    probe.listen("/robot/ee_velocity_cmd", TwistStamped)
    probe.listen("/policy/status", String)
    probe.listen("/trainer/weights", Weights, qos=QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                                             durability=2))
    probe.listen("/policy/experience", ExperienceStep, qos=QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    procs = start_nodes("sim_pusher.yaml", overrides, env, tmp)
    try:
        probe.wait_for(lambda: any(m.version >= 3 for m in probe.messages("/trainer/weights")), 120, "trained weights")
        first = probe.messages("/trainer/weights")[-1]
        t0 = time.monotonic()
        time.sleep(seconds)
        cmds = [(t, m) for t, m in probe.timed("/robot/ee_velocity_cmd") if t > t0]
        stamps = np.array([m.header.stamp.sec * 1e9 + m.header.stamp.nanosec for _, m in cmds])
        ticks = np.diff(stamps[np.diff(stamps, prepend=0) > 50e6])  # tick commands (the watchdog's come between)
        error = np.abs(ticks / 1e6 - 100.0)
        arrivals = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec: t for t, m in cmds}
        latency = []
        wall_offset = time.time() - time.monotonic()
        for t, m in probe.timed("/policy/status"):
            s = json.loads(m.data)
            if t > t0 and s["reason"] == "" and s["tick_ns"] in arrivals:
                latency.append((arrivals[s["tick_ns"]] + wall_offset - s["image_ns"] / 1e9) * 1000)
        weights = probe.messages("/trainer/weights")
        steps = weights[-1].grad_steps - first.grad_steps
        print(f"[{variant}] trainer: weights version {weights[-1].version}, {steps} gradient steps in the window "
              f"({steps / seconds:.0f}/s)")
        print(f"[{variant}] 10 Hz loop period error while training: {pct(error.tolist())}")
        met = np.percentile(error, 99) <= 1.0 and error.max() <= 3.0
        print(f"[{variant}] target p99 <= 1 ms and max <= 3 ms: {'met' if met else 'NOT met'}")
        for line in procs["policy_node"].output().splitlines() + procs["trainer_node"].output().splitlines():
            if any(k in line for k in ("control thread", "training thread", "control loop", "control tick", "garbage")):
                print(f"[{variant}]   {line.split('] ', 2)[-1].strip()}")
        print(f"[{variant}] camera frame → command arrival latency: {pct(latency)}")
    finally:
        stop_all(procs)
        probe.close()


def lockstep(seconds: float, domain: int, tmp: Path, device: str) -> None:
    import sawyer_sim

    env = {**ROS_ENV, "ROS_DOMAIN_ID": str(domain), "ROS_LOG_DIR": str(tmp / "log")}
    overrides = {"episode_node": {"horizon": 50},
                 "trainer_node": {"exploration_steps": 10**6, "checkpoint_dir": "", "replay_capacity": 5000,
                                  "device": device}}
    probe = Probe(domain)
    probe.listen("/policy/experience", ExperienceStep, qos=QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    procs = start_nodes("sim_reacher_lockstep.yaml", overrides, env, tmp)
    try:
        probe.wait_count("/policy/experience", 20, 120)
        n0, t0 = len(probe.messages("/policy/experience")), time.monotonic()
        time.sleep(seconds)
        graph_rate = (len(probe.messages("/policy/experience")) - n0) / (time.monotonic() - t0)
    finally:
        stop_all(procs)
        probe.close()
    e = sawyer_sim.make("reacher", image_size=48, seed=0)
    e.reset(seed=0)
    t0, n = time.monotonic(), 0
    while time.monotonic() - t0 < 5.0:
        e.step(np.random.uniform(-1, 1, 2))
        n += 1
    env_rate = n / (time.monotonic() - t0)
    print(f"lock-step graph: {graph_rate:.1f} env steps/s; in-process env: {env_rate:.1f} steps/s; "
          f"ratio {graph_rate / env_rate:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=["realtime", "lockstep"], default=None)
    parser.add_argument("--variant", choices=[*VARIANTS, "all"], default="all", help="control-loop variant(s)")
    parser.add_argument("--device", default="cpu", help=f"trainer_node's {DEVICE_HELP}")
    args = parser.parse_args()
    device = device_or_exit(args.device, "bench_graph")
    print(f"trainer_node device: {device if device.type == 'cpu' else describe_device(device)}")
    domain = 60 + os.getpid() % 30
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "realtime"):
            for variant in (VARIANTS if args.variant == "all" else [args.variant]):
                realtime(args.seconds, domain, Path(tmp) / f"rt-{variant}", variant, str(device))
                domain += 1
        if args.only in (None, "lockstep"):
            lockstep(min(args.seconds, 30.0), domain + 1, Path(tmp) / "ls", str(device))


if __name__ == "__main__":
    main()

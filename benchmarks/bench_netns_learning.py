"""RIG learning Visual Reacher in lock-step with the trainer on another "host" (issue 13): the trainer in one network
namespace, the arm graph and graph_run in another, one veth pair, Fast DDS on plain UDP (needs root and `ip netns`).

    source scripts/ros_env.sh
    python benchmarks/bench_netns_learning.py [--steps 1000] [--eval-every 500] [--seed 0] [--threads 1]
        [--out benchmarks/runs/netns_learning] [--summary benchmarks/results/netns_learning_reacher_1000.json]

Writes the final distance (through the graph and in-process), the bytes that crossed the link each way, and the
wall-clock; compare with the same graph_run on one host (`bench_arms_learning.py`, 1 arm, same seed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ros"))

from netns import HostPair, unavailable, write_profile  # noqa: E402

from rig_runtime.dds_profile import PROFILE_ENV  # noqa: E402

LEARNER, ROBOT = 0, 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runs" / "netns_learning")
    parser.add_argument("--summary", type=Path, default=ROOT / "benchmarks" / "results" / "netns_learning_reacher_1000.json")
    args = parser.parse_args()
    why = unavailable()
    if why:
        sys.exit(f"bench_netns_learning: network namespaces unavailable: {why}")
    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = args.out / f"seed{args.seed}"
    if run_dir.exists():
        sys.exit(f"bench_netns_learning: {run_dir} exists: remove it or choose another --out")
    hosts = HostPair(f"rigl{os.getpid() % 1000}", subnet=200 + os.getpid() % 50)
    try:
        profiles = {host: write_profile(args.out / f"fastdds_{host}.xml", hosts.addresses[peer])
                    for host, peer in ((LEARNER, ROBOT), (ROBOT, LEARNER))}
        trainer_prefix = [*hosts.prefix(LEARNER), "env", f"FASTDDS_DEFAULT_PROFILES_FILE={profiles[LEARNER]}"]
        cmd = [*hosts.prefix(ROBOT), sys.executable, "-m", "rig_bringup.graph_run", "--env", "reacher",
               "--steps", str(args.steps), "--eval-every", str(args.eval_every), "--seed", str(args.seed),
               "--threads", str(args.threads), "--out", str(run_dir),
               "--node-prefix", f"trainer_node={shlex.join(trainer_prefix)}"]
        env = {**os.environ, **PROFILE_ENV, "FASTDDS_DEFAULT_PROFILES_FILE": str(profiles[ROBOT]), "MUJOCO_GL": "egl"}
        rx = {host: hosts.rx_bytes(host) for host in (LEARNER, ROBOT)}
        print(f"running {shlex.join(cmd)}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        rx = {host: hosts.rx_bytes(host) - before for host, before in rx.items()}
    finally:
        hosts.close()
    if proc.returncode != 0:
        sys.exit(f"graph_run across the link failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads((run_dir / "results.json").read_text())
    result = {"seed": args.seed, "steps": summary["final_step"], "final": summary["final_mean"],
              "final_in_process": summary["final_in_process"][summary["metric"]], "wall_s": wall,
              "timings": summary["timings"][str(args.seed)], "learner_rx_mb": rx[LEARNER] / 1e6,
              "robot_rx_mb": rx[ROBOT] / 1e6, "command": shlex.join(cmd)}
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(result, indent=2))
    print(f"across the link: final distance {result['final']:.4f} m (in-process {result['final_in_process']:.4f}), "
          f"{wall:.0f} s; learner received {result['learner_rx_mb']:.1f} MB, robot {result['robot_rx_mb']:.1f} MB")


if __name__ == "__main__":
    main()

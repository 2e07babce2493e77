"""Several arms, one learner: env steps per second into the trainer (transitions it stores, from /trainer/metrics)
for 1 and for 2 lock-step Visual Reacher arms (each its own sim, encoder, policy and episode node under /armK),
every node its own process over DDS on this machine, alternating 1 and 2 arms for `--rounds` rounds.

The trainer stores without training (exploration_steps 1e6), so this is the rate the arms deliver experience;
lock-step episodes wait for the trainer to be idle between them (`--no-wait`: they do not). With `--train` it
trains as RIG does (4 TD3 updates per step after VAE pre-training on 500 steps), and lock-step
episodes wait for it, so the learner's speed bounds the total. Also the CPU the graph's processes used (cores).

    source scripts/ros_env.sh && python benchmarks/bench_arms.py [--seconds 60] [--rounds 2] [--train] [--no-wait]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ros"))

from conftest import ROS_ENV  # noqa: E402 - sets up the ROS environment of this process
from graph_probe import Probe  # noqa: E402
from nodeproc import NodeProcess  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from rig_runtime.arms import expand_arms  # noqa: E402
from rig_runtime.graph import load_graph, node_command  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    except (FileNotFoundError, IndexError, ValueError):
        return 0.0


def run(arms: int, seconds: float, train: bool, wait: bool, domain: int,
        tmp: Path) -> tuple[float, dict[str, float], tuple[float, ...]]:
    """(env steps/s into the trainer, CPU seconds per node kind in the window, load averages before)."""
    env = {**ROS_ENV, "ROS_DOMAIN_ID": str(domain), "ROS_LOG_DIR": str(tmp / "log")}
    trainer = {"checkpoint_dir": "", "replay_capacity": 20000}
    trainer |= {"exploration_steps": 500} if train else {"exploration_steps": 10**6}
    graph = expand_arms(load_graph(ROOT / "launch" / "sim_reacher_lockstep.yaml",
                                   {"episode_node": {"horizon": 50, "wait_for_trainer": wait}, "trainer_node": trainer}), arms)
    probe = Probe(domain)
    probe.listen("/trainer/metrics", String)

    def latest() -> tuple[float, int]:
        timed = probe.timed("/trainer/metrics")
        return (timed[-1][0], json.loads(timed[-1][1].data)["env_steps"]) if timed else (time.monotonic(), 0)

    load = os.getloadavg()
    procs = {spec.full_name: NodeProcess(node_command(spec, graph, tmp / "params"), env,
                                         tmp / f"{spec.full_name.replace('/', '.')}.log") for spec in graph.nodes}

    def cpu() -> dict[str, float]:
        out: dict[str, float] = {}
        for full_name, proc in procs.items():
            name = full_name.rsplit("/", 1)[-1]
            out[name] = out.get(name, 0.0) + cpu_seconds(proc.proc.pid)
        return out

    try:
        warm = 600 if train else 100  # past VAE pre-training when training
        probe.wait_for(lambda: latest()[1] >= warm * arms, 900, f"{warm * arms} env steps in the trainer")
        (t0, n0), c0 = latest(), cpu()
        time.sleep(seconds)
        (t1, n1), c1 = latest(), cpu()
    finally:
        for proc in procs.values():
            proc.stop()
        probe.close()
    return (n1 - n0) / (t1 - t0), {name: c1[name] - c0[name] for name in c0}, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train", action="store_true", help="the trainer trains (RIG defaults) while measured")
    parser.add_argument("--no-wait", action="store_true", help="episodes do not wait for the trainer between them")
    args = parser.parse_args()
    domain = 60 + os.getpid() % 30
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for arms in (1, 2):
                rate, cpu, load = run(arms, args.seconds, args.train, not args.no_wait, domain, Path(tmp) / f"r{r}a{arms}")
                domain = 60 + (domain - 59) % 30
                rates[arms].append(rate)
                steps = rate * args.seconds
                per_step = ", ".join(f"{name} {1000 * c / steps:.1f}" for name, c in cpu.items())
                print(f"round {r}, {arms} arm(s): {rate:.1f} env steps/s into the trainer, graph used "
                      f"{sum(cpu.values()) / args.seconds:.2f} cores (load before {load[0]:.1f} / {load[1]:.1f} / "
                      f"{load[2]:.1f}, {os.cpu_count()} CPUs); CPU ms per env step: {per_step}", flush=True)
    one, two = sum(rates[1]) / len(rates[1]), sum(rates[2]) / len(rates[2])
    print(f"mean: 1 arm {one:.1f}/s, 2 arms {two:.1f}/s: ratio {two / one:.2f} (target >= 1.8)")


if __name__ == "__main__":
    main()

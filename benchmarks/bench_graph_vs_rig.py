"""RIG through the lock-step graph (`graph_run`) against the in-process loop (`rig run`): same env, steps, seed.

    source scripts/ros_env.sh
    python benchmarks/bench_graph_vs_rig.py [--env reacher] [--steps 2000] [--eval-every 1000] [--seed 0]
        [--out benchmarks/runs/graph_vs_rig] [--only rig|graph]

Prints, and writes to OUT/summary.json: wall-clock of each and their ratio (target ≤ 1.25), the final distance of
each (target: within 0.01 m), and where the graph's time goes:
- per hop, from a probe on the graph's domain that timestamps every message on arrival, keyed by the sim stamp:
  image → latent (encoder), latent → command (policy), command → next image (sim step), and the gaps at episode
  boundaries (reset, waiting for the trainer);
- per node: CPU seconds of each node process (user + system, sampled from /proc while it runs);
- per phase: graph_run's and rig run's own timings (exploration, VAE pre-training, practice, evaluation).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ros"))

from conftest import ROS_ENV  # noqa: E402 - sets up the ROS environment of this process
from geometry_msgs.msg import TwistStamped  # noqa: E402
from graph_probe import Probe  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from rig_interfaces.msg import Latent  # noqa: E402
from rig_runtime.messages import stamp_ns  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu(parent: int) -> dict[str, float]:
    """CPU seconds (user + system) of `parent`'s child processes, by their ROS node name (or command)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != parent:
                continue
            cmd = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        names = [a.decode().split(":=", 1)[1] for a in cmd if a.startswith(b"__node:=")]
        name = names[0] if names else Path(cmd[0].decode() or "?").name
        out[name] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def run_rig(args: argparse.Namespace, out: Path) -> dict:
    cmd = [str(ROOT / ".venv" / "bin" / "rig"), "run", "--env", args.env, "--steps", str(args.steps), "--eval-every",
           str(args.eval_every), "--seeds", str(args.seed), "--out", str(out), "--quiet",
           "--threads", str(args.rig_threads or args.threads)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "MUJOCO_GL": "egl"})
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rig run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "results.json").read_text())
    return {"wall_s": wall, "final": summary["final_mean"], "timings": summary["timings"][str(args.seed)]}


def run_graph(args: argparse.Namespace, out: Path) -> dict:
    domain = random.Random(os.urandom(8)).randint(100, 199)
    probe = Probe(domain)
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    probe.listen("/camera/image_raw", Image, qos=reliable)
    probe.listen("/perception/latent", Latent, qos=reliable)
    probe.listen("/robot/ee_velocity_cmd", TwistStamped, qos=reliable)
    probe.listen("/trainer/metrics", String, qos=100)
    cmd = [sys.executable, "-m", "rig_bringup.graph_run", "--env", args.env, "--steps", str(args.steps),
           "--eval-every", str(args.eval_every), "--seed", str(args.seed), "--out", str(out), "--domain-id", str(domain),
           "--threads", str(args.threads)] + (["--pretrain-threads", str(args.pretrain_threads)]
                                               if args.pretrain_threads else [])
    cpu: dict[str, float] = {}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ROS_ENV)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        cpu.update(_children_cpu(proc.pid))
        time.sleep(0.5)
    wall = time.monotonic() - t0
    reader.join(5)
    probe.close()
    if proc.returncode != 0:
        raise SystemExit(f"graph_run failed ({proc.returncode}):\n{''.join(output)[-3000:]}")
    summary = json.loads((out / "results.json").read_text())
    return {"wall_s": wall, "final": summary["final_mean"], "timings": summary["timings"][str(args.seed)],
            "hops": hops(probe), "cpu_s": dict(sorted(cpu.items(), key=lambda kv: -kv[1]))}


def hops(probe: Probe) -> dict:
    """Per-hop latency (ms) through the chain image → latent → command → next image, keyed by sim stamp."""
    arrival = {topic: {} for topic in ("/camera/image_raw", "/perception/latent", "/robot/ee_velocity_cmd")}
    for topic, table in arrival.items():
        for t, msg in probe.timed(topic):
            table.setdefault(stamp_ns(msg.header.stamp), t)  # first arrival (republished observations repeat)
    images, latents, cmds = (arrival[t] for t in arrival)
    stamps = sorted(images)
    encoder = [latents[s] - images[s] for s in stamps if s in latents]
    policy = [cmds[s] - latents[s] for s in stamps if s in latents and s in cmds]
    step, boundary, chain = [], [], []
    for a, b in itertools.pairwise(stamps):
        if a in cmds:  # b answers the command for a
            step.append(images[b] - cmds[a])
            chain.append(images[b] - images[a])
        else:  # an episode's last observation gets no command: b is the next episode's reset observation
            boundary.append(images[b] - images[a])

    def stats(values: list[float]) -> dict:
        a = np.asarray(values) * 1e3
        if not len(a):
            return {"n": 0}
        return {"n": len(a), "p50_ms": float(np.median(a)), "mean_ms": float(a.mean()),
                "p99_ms": float(np.percentile(a, 99)), "total_s": float(a.sum() / 1e3)}

    return {"encoder (image→latent)": stats(encoder), "policy (latent→command)": stats(policy),
            "sim (command→next image)": stats(step), "one env step (image→next image)": stats(chain),
            "episode boundary (last image→first image of next episode)": stats(boundary)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="reacher")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "runs" / "graph_vs_rig"))
    parser.add_argument("--only", choices=["rig", "graph"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of `rig run` and of graph_run's trainer "
                        "(default 1: two threads on a loaded 2-core machine spin against each other)")
    parser.add_argument("--rig-threads", type=int, help="`rig run`'s torch threads, where they differ from --threads "
                        "(e.g. each at its best)")
    parser.add_argument("--pretrain-threads", type=int, help="graph_run's trainer threads during VAE pre-training "
                        "(default: graph_run's, torch's choice)")
    args = parser.parse_args()
    out = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    load = os.getloadavg()[0]
    print(f"{args.env}, {args.steps} steps, seed {args.seed}; load average {load:.2f}, {os.cpu_count()} CPUs", flush=True)
    result: dict = {"env": args.env, "steps": args.steps, "seed": args.seed, "load_before": load}
    if args.only in (None, "rig"):
        result["rig"] = run_rig(args, out / "rig")
        print(f"rig run:   {result['rig']['wall_s']:.1f} s, final {result['rig']['final']:.4f} m", flush=True)
    if args.only in (None, "graph"):
        result["graph"] = run_graph(args, out / "graph")
        g = result["graph"]
        print(f"graph_run: {g['wall_s']:.1f} s, final {g['final']:.4f} m", flush=True)
        for name, s in g["hops"].items():
            if s["n"]:
                print(f"  {name:55s} p50 {s['p50_ms']:7.2f} ms  mean {s['mean_ms']:7.2f}  p99 {s['p99_ms']:7.2f}"
                      f"  n {s['n']:5d}  total {s['total_s']:6.1f} s")
        print("  CPU seconds per node: " + ", ".join(f"{k} {v:.1f}" for k, v in g["cpu_s"].items()))
        print("  phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in g["timings"].items()))
    if "rig" in result and "graph" in result:
        ratio = result["graph"]["wall_s"] / result["rig"]["wall_s"]
        delta = abs(result["graph"]["final"] - result["rig"]["final"])
        result.update(wall_ratio=ratio, final_delta_m=delta)
        print("rig run phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result["rig"]["timings"].items()))
        print(f"wall-clock graph / rig run: {ratio:.2f}x (target <= 1.25); final distance difference {delta:.4f} m "
              f"(target <= 0.01)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(result, indent=2))
    print(f"summary: {out / 'summary.json'}")


if __name__ == "__main__":
    main()

"""RIG through the lock-step graph with two arms feeding one trainer against one arm, at equal total env steps
(issue 13): Visual Reacher final distance (target: within 0.01 m) and wall-clock.

    source scripts/ros_env.sh
    python benchmarks/bench_arms_learning.py [--steps 1000] [--eval-every 500] [--seeds 0 1 2] [--threads 1]
        [--out benchmarks/runs/arms_learning] [--summary benchmarks/results/arms_learning_reacher_1000]

Runs `python -m rig_bringup.graph_run --arms A` for A = 1 and 2 and each seed, one after the other (each graph has
the machine to itself), then writes SUMMARY.json: final distance per seed (through the graph; in-process on the
same weights too), mean ± std per arm count, the difference of the means, and wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.01  # m: |mean final distance, 2 arms − 1 arm|


def run(args: argparse.Namespace, arms: int, seed: int) -> dict:
    out = args.out / f"arms{arms}_seed{seed}"
    if not (out / "results.json").is_file():
        cmd = [sys.executable, "-m", "rig_bringup.graph_run", "--env", "reacher", "--steps", str(args.steps),
               "--eval-every", str(args.eval_every), "--seed", str(seed), "--arms", str(arms),
               "--threads", str(args.threads), "--out", str(out)]
        print(f"running {' '.join(cmd[1:])}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "MUJOCO_GL": "egl"})
        if proc.returncode != 0:
            sys.exit(f"graph_run --arms {arms} --seed {seed} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        print(f"  done in {time.monotonic() - t0:.0f} s", flush=True)
    summary = json.loads((out / "results.json").read_text())
    timings = summary["timings"][str(seed)]
    return {"final": summary["final_mean"], "final_in_process": summary["final_in_process"][summary["metric"]],
            "final_step": summary["final_step"], "wall_s": timings["wall_clock_s"], "timings": timings,
            "random_policy": summary["random_policy_mean"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="the trainer's torch threads")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runs" / "arms_learning")
    parser.add_argument("--summary", type=Path, default=ROOT / "benchmarks" / "results" / "arms_learning_reacher_1000")
    args = parser.parse_args()
    results = {arms: {seed: run(args, arms, seed) for seed in args.seeds} for arms in (1, 2)}
    summary: dict = {"env": "reacher", "steps": args.steps, "target_m": TARGET, "arms": {}}
    for arms, per_seed in results.items():
        finals = [r["final"] for r in per_seed.values()]
        summary["arms"][arms] = {"per_seed": per_seed, "final_mean": float(np.mean(finals)),
                                 "final_std": float(np.std(finals)),
                                 "wall_mean_s": float(np.mean([r["wall_s"] for r in per_seed.values()]))}
        seeds_text = ", ".join(f"{s}: {r['final']:.4f}" for s, r in per_seed.items())
        print(f"{arms} arm(s): final distance {np.mean(finals):.4f} ± {np.std(finals):.4f} m ({seeds_text}), "
              f"wall {summary['arms'][arms]['wall_mean_s']:.0f} s per run")
    delta = summary["arms"][2]["final_mean"] - summary["arms"][1]["final_mean"]
    summary["delta_of_means_m"], summary["target_met"] = delta, bool(abs(delta) <= TARGET)
    print(f"2 arms − 1 arm: {delta:+.4f} m (target |Δ| ≤ {TARGET} m: {'met' if abs(delta) <= TARGET else 'NOT met'})")
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.with_suffix(".json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

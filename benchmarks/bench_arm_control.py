"""RIG with the sim's hand moved through the real arm driver's controller (`--arm-control driver`) next to the
mocap weld (`--arm-control mocap`): same env, steps, seeds and config (issue 9, item 4).

    .venv/bin/python benchmarks/bench_arm_control.py [--env reacher] [--steps 5000] [--seeds 0 1 2] [--threads 1]
        [--out benchmarks/runs/arm_control] [--summary benchmarks/results/arm_control_reacher_5k]

Runs `rig run` once per mode (both at the same time, one torch thread each, unless --one-at-a-time), then
prints and writes SUMMARY.json / SUMMARY.png: each mode's final distance per seed, mean ± std, the
difference of the means (target: within 0.01 m) and per seed, the random policy, and wall-clock. With
--summarise-only the runs already in --out are summarised.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODES = ("mocap", "driver")
TARGET = 0.01  # m: |mean final distance, driver − mocap|


def command(args: argparse.Namespace, mode: str) -> list[str]:
    return [str(ROOT / ".venv" / "bin" / "rig"), "run", "--env", args.env, "--steps", str(args.steps),
            "--seeds", *map(str, args.seeds), "--arm-control", mode, "--threads", str(args.threads),
            "--out", str(args.out / mode), "--quiet"]


def run_modes(args: argparse.Namespace) -> dict[str, float]:
    env = {**os.environ, "MUJOCO_GL": "egl"}
    walls: dict[str, float] = {}
    procs = {}
    for mode in MODES:
        (args.out / mode).mkdir(parents=True, exist_ok=True)
        log = open(args.out / f"{mode}.log", "w")  # noqa: SIM115 - closed when the process ends
        proc = subprocess.Popen(command(args, mode), stdout=log, stderr=subprocess.STDOUT, env=env)
        procs[mode] = (proc, time.monotonic(), log)
        print(f"started {mode}: {' '.join(command(args, mode))}", flush=True)
        if args.one_at_a_time:
            _wait(mode, procs[mode], walls, args.out)
    for mode, job in procs.items():
        if mode not in walls:
            _wait(mode, job, walls, args.out)
    return walls


def _wait(mode: str, job: tuple, walls: dict[str, float], out: Path) -> None:
    proc, start, log = job
    rc = proc.wait()
    walls[mode] = time.monotonic() - start
    log.close()
    if rc != 0:
        sys.exit(f"rig run --arm-control {mode} failed ({rc}); see {out / f'{mode}.log'}")
    print(f"{mode} done in {walls[mode]:.0f} s", flush=True)


def summarise(args: argparse.Namespace, walls: dict[str, float]) -> dict:
    results = {mode: json.loads((args.out / mode / "results.json").read_text()) for mode in MODES}
    metric = results["mocap"]["metric"]
    summary: dict = {"env": args.env, "steps": args.steps, "metric": metric, "target_m": TARGET, "modes": {}}
    finals = {}
    for mode, res in results.items():
        per_seed = {seed: curve[-1][metric] for seed, curve in res["curves"].items()}
        finals[mode] = per_seed
        summary["modes"][mode] = {
            "final_per_seed": per_seed, "final_mean": float(np.mean(list(per_seed.values()))),
            "final_std": float(np.std(list(per_seed.values()))), "random_policy": res["random_policy_mean"],
            "wall_s": walls.get(mode), "wall_clock_per_seed_s": {s: t["wall_clock_s"] for s, t in res["timings"].items()},
            "command": res["command"]}
    seeds = sorted(set(finals["mocap"]) & set(finals["driver"]))
    delta = summary["modes"]["driver"]["final_mean"] - summary["modes"]["mocap"]["final_mean"]
    summary["delta_of_means_m"] = delta
    summary["delta_per_seed_m"] = {s: finals["driver"][s] - finals["mocap"][s] for s in seeds}
    summary["target_met"] = bool(abs(delta) <= TARGET)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    _plot(results, metric, args.summary.with_suffix(".png"))
    for mode in MODES:
        m = summary["modes"][mode]
        seeds_text = ", ".join(f"{s}: {v:.4f}" for s, v in m["final_per_seed"].items())
        print(f"{mode:6s} final {metric} {m['final_mean']:.4f} ± {m['final_std']:.4f} m ({seeds_text}); "
              f"random {m['random_policy']:.4f} m")
    print(f"driver − mocap: {delta:+.4f} m (target |Δ| ≤ {TARGET} m: {'met' if summary['target_met'] else 'NOT met'}); "
          f"per seed {', '.join(f'{s}: {d:+.4f}' for s, d in summary['delta_per_seed_m'].items())}")
    return summary


def _plot(results: dict, metric: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, res in results.items():
        curves = list(res["curves"].values())
        steps = [row["step"] for row in curves[0]]
        values = np.array([[row[metric] for row in c] for c in curves])
        mean, std = values.mean(0), values.std(0)
        ax.plot(steps, mean, label=f"{mode} ({len(curves)} seeds)")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.axhline(results["mocap"]["random_policy_mean"], color="grey", ls="--", label="random policy")
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"final {metric} (m)")
    ax.set_title("RIG, hand moved by mocap vs through the arm driver's controller")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="reacher")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runs" / "arm_control")
    parser.add_argument("--summary", type=Path, default=ROOT / "benchmarks" / "results" / "arm_control_reacher_5k")
    parser.add_argument("--one-at-a-time", action="store_true", help="run the modes one after the other")
    parser.add_argument("--summarise-only", action="store_true", help="summarise the runs already in --out")
    args = parser.parse_args()
    walls = {} if args.summarise_only else run_modes(args)
    summarise(args, walls)


if __name__ == "__main__":
    main()

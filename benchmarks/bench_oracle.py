"""The state oracle (rig_core.oracle) on `rig run`'s schedule and held-out goals: the bound an image-based method is
compared against (RIG §6, thesis §3.5.1), and whether TD3 with relabeling pushes the puck at all in this env.

    .venv/bin/python benchmarks/bench_oracle.py --env pusher --steps 50000 --seed 0 [--threads 1] \
        [--set td3.updates_per_step=4] --out benchmarks/results/oracle/pusher_50k_seed0

Writes OUT.json (config, curve, random policy, timings) and OUT.png (final distances against env steps).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from rig_core.cli import _make_env_factory, parse_set_items
from rig_core.config import default_config
from rig_core.oracle import run_oracle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="pusher")
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--exploration-steps", type=int, help="default: the env's RIG value")
    ap.add_argument("--eval-every", type=int, default=2_500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config value")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--out", type=Path, required=True, help="output prefix (.json and .png)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = {"total_steps": args.steps, "eval_every": args.eval_every, "seed": args.seed}
    if args.exploration_steps is not None:
        data["exploration_steps"] = args.exploration_steps
    config = default_config(args.env, **parse_set_items(args.set, data))
    result = run_oracle(config, _make_env_factory(config), show_progress=not args.quiet)
    summary = {"env": config.env, "seed": config.seed, "config": dataclasses.asdict(config), "curve": result.curve,
               "random_policy": result.random_baseline, "timings": result.timings}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    keys = [k for k in result.curve[-1] if k.endswith("_distance") and k != "total_distance"]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    steps = [row["step"] for row in result.curve]
    for key in keys:
        line, = ax.plot(steps, [row[key] for row in result.curve], marker=".", label=f"oracle {key}")
        ax.axhline(result.random_baseline[key], ls="--", color=line.get_color(), lw=0.8, label=f"random {key}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("final distance (m; door: rad)")
    ax.set_title(f"state oracle, {config.env}, seed {config.seed}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    for row in result.curve:
        print(row["step"], " ".join(f"{k}={row[k]:.4f}" for k in keys))
    print("random policy:", " ".join(f"{k}={result.random_baseline[k]:.4f}" for k in keys),
          f"wall {result.timings['wall_clock_s']:.0f} s")


if __name__ == "__main__":
    main()

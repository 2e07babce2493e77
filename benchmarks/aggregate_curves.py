"""Merge the `results.json` of several `rig run` output directories (e.g. one per seed, run in
parallel) into one table of mean ± std final distance per env step, a PNG curve and a JSON summary.

    .venv/bin/python benchmarks/aggregate_curves.py benchmarks/runs/reacher_10k_seed{0,1,2} \
        --out benchmarks/results/reacher_10k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rig_core.report import draw_curve


def seed_curves(summaries: list[dict], key: str) -> tuple[list[int], np.ndarray]:
    """The env steps at which every seed's curve in these results.json summaries reports `key`, and the
    (seeds, steps) values there."""
    curves = [curve for s in summaries for curve in s["curves"].values()]
    steps = sorted(set.intersection(*({row["step"] for row in c if key in row} for c in curves)))
    return steps, np.array([[next(r[key] for r in c if r["step"] == step) for step in steps] for c in curves])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="rig run --out directories")
    parser.add_argument("--out", type=Path, required=True, help="output prefix (writes .json and .png)")
    args = parser.parse_args()
    summaries = [json.loads((run / "results.json").read_text()) for run in args.runs]
    metric = summaries[0]["metric"]
    curves = {seed: curve for s in summaries for seed, curve in s["curves"].items()}
    steps, values = seed_curves(summaries, metric)
    random_policy = float(np.mean([s["random_policy_mean"] for s in summaries]))
    rows = [{"step": int(step), "mean": float(m), "std": float(d)}
            for step, m, d in zip(steps, values.mean(0), values.std(0), strict=True)]
    result = {"env": summaries[0]["env"], "metric": metric, "seeds": sorted(curves), "random_policy": random_policy,
              "curve": rows, "commands": [s["command"] for s in summaries],
              "wall_clock_s": {seed: t["wall_clock_s"] for s in summaries for seed, t in s["timings"].items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    draw_curve(ax, steps, values.mean(0), values.std(0), random_policy, metric,
               f"RIG, {len(curves)} seed{'s' * (len(curves) > 1)} (mean ± std)")
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print(f"{'env steps':>10} {'mean (m)':>10} {'std (m)':>10}")
    for row in rows:
        print(f"{row['step']:>10} {row['mean']:>10.4f} {row['std']:>10.4f}")
    print(f"random policy: {random_policy:.4f} m; seeds {sorted(curves)}")


if __name__ == "__main__":
    main()

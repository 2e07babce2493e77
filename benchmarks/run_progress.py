"""Print the learning curve a `rig run` has so far, from its checkpoint (works while the run is going on), and
optionally plot the runs side by side: final distance and goal coverage vs env steps (RIG vs RIG + Skew-Fit).

    .venv/bin/python benchmarks/run_progress.py /work/runs/skewfit/pusher_rig /work/runs/skewfit/pusher_skewfit \
        --plot benchmarks/results/pusher_rig_vs_skewfit.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors import safe_open

COLUMNS = ("ee_distance", "puck_distance", "angle_distance", "object_distance", "coverage_uniform", "coverage_skewed",
           "coverage_prior", "skew_ess")


def progress(run: Path) -> dict:
    """The progress dict saved with the newest checkpoint of each seed of the run (step, curve, random baseline)."""
    out = {}
    for ckpt in sorted(run.glob("seed*/checkpoint/agent.safetensors")):
        with safe_open(str(ckpt), "pt") as f:
            meta = f.metadata() or {}
        out[ckpt.parent.parent.name] = {**json.loads(meta.get("progress", "{}")), "config": json.loads(meta["config"])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="rig run --out directories")
    parser.add_argument("--plot", type=Path, help="write a PNG: final distance and coverage per run")
    args = parser.parse_args()
    runs = {run: progress(run) for run in args.runs}
    for run in args.runs:
        for seed, p in runs[run].items():
            cfg = p["config"]
            print(f"{run} {seed}: goals={cfg.get('goals', 'prior')} step {p['step']}, random policy {p['random_baseline']}")
            keys = [k for k in COLUMNS if any(k in row for row in p["curve"])]
            print(f"{'step':>8}" + "".join(f"{k:>18}" for k in keys))
            for row in p["curve"]:
                print(f"{row['step']:>8}" + "".join(f"{row[k]:>18.4f}" if k in row else f"{'':>18}" for k in keys))

    if args.plot:
        plot(runs, args.plot)


def plot(runs: dict[Path, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rig_core.report import primary_metric, unit

    fig, (ax_d, ax_c) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run, seeds in runs.items():
        for seed, p in seeds.items():
            cfg, curve = p["config"], p["curve"]
            label = f"{'RIG + Skew-Fit' if cfg.get('goals') == 'skewfit' else 'RIG'} ({run.name}, {seed})"
            metric = primary_metric(cfg["env"])
            ax_d.plot([r["step"] for r in curve], [r[metric] for r in curve], marker=".", label=label)
            key = "coverage_skewed" if cfg.get("goals") == "skewfit" else "coverage_uniform"
            rows = [r for r in curve if key in r]
            ax_c.plot([r["step"] for r in rows], [r[key] for r in rows], marker=".", label=f"{label}: {key}")
    ax_d.set_ylabel(f"final {metric.replace('_', ' ')} ({unit(metric)})")
    ax_c.set_ylabel("share of proposed replay goals with the object moved")
    for ax in (ax_d, ax_c):
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""Print the learning curve a `rig run` has so far, from its checkpoint (works while the run is going on).

    .venv/bin/python benchmarks/run_progress.py /work/runs/skewfit/pusher_rig /work/runs/skewfit/pusher_skewfit
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors import safe_open

COLUMNS = ("ee_distance", "puck_distance", "angle_distance", "object_distance", "coverage_uniform", "coverage_skewed",
           "skew_ess")


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
    args = parser.parse_args()
    for run in args.runs:
        for seed, p in progress(run).items():
            cfg = p["config"]
            print(f"{run} {seed}: goals={cfg.get('goals', 'prior')} step {p['step']}, random policy {p['random_baseline']}")
            keys = [k for k in COLUMNS if any(k in row for row in p["curve"])]
            print(f"{'step':>8}" + "".join(f"{k:>18}" for k in keys))
            for row in p["curve"]:
                print(f"{row['step']:>8}" + "".join(f"{row[k]:>18.4f}" if k in row else f"{'':>18}" for k in keys))


if __name__ == "__main__":
    main()

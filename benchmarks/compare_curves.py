"""Methods side by side: mean ± std over seeds of a `rig run` metric against env steps, one band per method, and the
moved-object share of each method's proposed goals (coverage) beneath; writes a PNG and a JSON of the final ratios.

    .venv/bin/python benchmarks/compare_curves.py --group RIG benchmarks/results/skewfit/pusher_50k_rig_seed*.json \
        --group "Skew-Fit" RUN_DIR/results.json ... --out benchmarks/results/skewfit/pusher_50k_compare
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def load_curves(files: list[Path], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps every file reports `key` at, and the (seeds, steps) values there."""
    curves = [row for f in files for row in json.loads(f.read_text())["curves"].values()]
    steps = sorted(set.intersection(*({r["step"] for r in c if key in r} for c in curves)))
    values = np.array([[next(r[key] for r in c if r["step"] == s) for s in steps] for c in curves])
    return np.array(steps), values


def coverage_key(files: list[Path]) -> str:
    """The coverage of the goals a run proposes: p_skewed's if it has one, else its uniform replay's."""
    rows = [r for f in files for c in json.loads(f.read_text())["curves"].values() for r in c]
    return "coverage_skewed" if any("coverage_skewed" in r for r in rows) else "coverage_uniform"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", nargs="+", action="append", required=True, metavar=("LABEL", "RESULTS_JSON"),
                        help="a method's label and the results.json of each of its seeds; repeat per method")
    parser.add_argument("--metric", help="curve key (default: the runs' own metric)")
    parser.add_argument("--out", type=Path, required=True, help="output prefix (writes .json and .png)")
    args = parser.parse_args()
    groups = {g[0]: [Path(p) for p in g[1:]] for g in args.group}
    if any(not files for files in groups.values()):
        parser.error("every --group needs a label and at least one results.json")
    first = json.loads(next(iter(groups.values()))[0].read_text())
    metric = args.metric or first["metric"]
    randoms = [json.loads(f.read_text())["random_policy_mean"] for files in groups.values() for f in files]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, height_ratios=(2, 1))
    summary: dict[str, dict] = {}
    for label, files in groups.items():
        steps, values = load_curves(files, metric)
        mean, std = values.mean(0), values.std(0)
        (line,) = top.plot(steps, mean, label=f"{label} ({len(values)} seeds)")
        top.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        key = coverage_key(files)
        c_steps, coverage = load_curves(files, key)
        if len(c_steps):
            bottom.plot(c_steps, coverage.mean(0), color=line.get_color(), label=f"{label}: {key}")
        summary[label] = {"files": [str(f) for f in files], "final_step": int(steps[-1]),
                          "final_per_seed": values[:, -1].tolist(), "final_mean": float(mean[-1]),
                          "final_std": float(std[-1]), "coverage_key": key,
                          "final_coverage_mean": float(coverage[:, -1].mean()) if len(c_steps) else None}
    top.axhline(float(np.mean(randoms)), color="grey", linestyle="--", label="random policy")
    top.set_ylabel(f"final {metric} (mean ± std)")
    top.set_title(f"{first['env']}: final {metric} against env steps, mean ± std over seeds")
    top.legend()
    bottom.set_xlabel("env steps")
    bottom.set_ylabel("goals with the object moved")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out.with_suffix(".png"), dpi=100)
    labels = list(groups)
    base = summary[labels[0]]["final_mean"]
    result = {"env": first["env"], "metric": metric, "random_policy": float(np.mean(randoms)), "groups": summary,
              "ratio_to_first": {k: v["final_mean"] / base for k, v in summary.items()}}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    for label, s in summary.items():
        print(f"{label}: {metric} at {s['final_step']} = {s['final_mean']:.4f} ± {s['final_std']:.4f} "
              f"({', '.join(f'{v:.4f}' for v in s['final_per_seed'])}), {result['ratio_to_first'][label]:.2f}× {labels[0]}")


if __name__ == "__main__":
    main()

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
from aggregate_curves import seed_curves

from rig_core.report import draw_curve


def coverage_key(summaries: list[dict]) -> str:
    """The coverage of the goals a run proposes: p_skewed's if it has one, else its uniform replay's."""
    rows = [r for s in summaries for c in s["curves"].values() for r in c]
    return "coverage_skewed" if any("coverage_skewed" in r for r in rows) else "coverage_uniform"


def random_policy_value(summaries: list[dict], metric: str) -> float | None:
    """The random policy's mean `metric` over the seeds, or None where a results.json does not hold it (files written
    before `random_policy` kept every metric hold only their own metric's, as `random_policy_mean`)."""
    values = []
    for s in summaries:
        per_seed = s.get("random_policy", {})
        if per_seed and all(metric in v for v in per_seed.values()):
            values += [v[metric] for v in per_seed.values()]
        elif s["metric"] == metric:
            values.append(s["random_policy_mean"])
        else:
            return None
    return float(np.mean(values))


def until(summary: dict, step: int | None) -> dict:
    """The results.json summary with its curves cut after env step `step` (None: as it is)."""
    if step is None:
        return summary
    return {**summary, "curves": {seed: [r for r in curve if r["step"] <= step] for seed, curve in summary["curves"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", nargs="+", action="append", required=True, metavar=("LABEL", "RESULTS_JSON"),
                        help="a method's label and the results.json of each of its seeds; repeat per method")
    parser.add_argument("--metric", help="curve key (default: the runs' own metric)")
    parser.add_argument("--out", type=Path, required=True, help="output prefix (writes .json and .png)")
    parser.add_argument("--until", type=int, help="compare up to this env step (runs of different lengths side by side)")
    args = parser.parse_args()
    files = {g[0]: [Path(p) for p in g[1:]] for g in args.group}
    if any(not paths for paths in files.values()):
        parser.error("every --group needs a label and at least one results.json")
    groups = {label: [until(json.loads(p.read_text()), args.until) for p in paths] for label, paths in files.items()}
    first = next(iter(groups.values()))[0]
    metric = args.metric or first["metric"]
    random_policy = random_policy_value([s for summaries in groups.values() for s in summaries], metric)
    if random_policy is None:
        print(f"compare_curves: these results hold no random-policy {metric}; the plot has no random-policy line")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, height_ratios=(2, 1))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    summary: dict[str, dict] = {}
    for n, (label, summaries) in enumerate(groups.items()):
        colour = colours[n % len(colours)]
        steps, values = seed_curves(summaries, metric)
        mean, std = values.mean(0), values.std(0)
        draw_curve(top, steps, mean, std, random_policy if n == len(groups) - 1 else None, metric,
                   f"{label} ({len(values)} seeds)", color=colour)
        key = coverage_key(summaries)
        c_steps, coverage = seed_curves(summaries, key)
        if c_steps:
            bottom.plot(c_steps, coverage.mean(0), color=colour, label=f"{label}: {key}")
        summary[label] = {"files": [str(p) for p in files[label]], "final_step": int(steps[-1]),
                          "final_per_seed": values[:, -1].tolist(), "final_mean": float(mean[-1]),
                          "final_std": float(std[-1]), "coverage_key": key,
                          "final_coverage_mean": float(coverage[:, -1].mean()) if c_steps else None}
    top.set_ylim(0, max(top.get_ylim()[1], 1.1 * (random_policy or 0)))  # the random policy's line inside the frame
    top.set_xlabel("")  # shared with the coverage panel beneath
    top.set_title(f"{first['env']}: final {metric} against env steps, mean ± std over seeds")
    bottom.set_xlabel("env steps")
    bottom.set_ylabel("goals with the object moved")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out.with_suffix(".png"), dpi=100)
    labels = list(groups)
    base = summary[labels[0]]["final_mean"]
    result = {"env": first["env"], "metric": metric, "random_policy": random_policy, "groups": summary,
              "ratio_to_first": {k: v["final_mean"] / base for k, v in summary.items()}}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    for label, s in summary.items():
        print(f"{label}: {metric} at {s['final_step']} = {s['final_mean']:.4f} ± {s['final_std']:.4f} "
              f"({', '.join(f'{v:.4f}' for v in s['final_per_seed'])}), {result['ratio_to_first'][label]:.2f}× {labels[0]}")


if __name__ == "__main__":
    main()

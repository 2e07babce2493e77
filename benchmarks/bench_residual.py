"""Residual RL on the insertion env (thesis ch. 8–9): success rate vs env steps for the P-controller alone, RL alone
(kp = 0) and residual RL, and success vs the controller's target error.

    # learning curves (one JSON per method and seed; run methods in parallel processes on a 2-core machine)
    nice -n 19 .venv/bin/python benchmarks/bench_residual.py curves --methods residual rl --seeds 0 1 2 \
        --steps 2000 --out benchmarks/results/residual
    # methods: residual, rl (TD3), residual_burnin, residual_sac, rl_sac; --reward sparse for Eq. 47
    # success vs target error: the P-controller alone and residual RL (one seed each)
    nice -n 19 .venv/bin/python benchmarks/bench_residual.py sweep --errors 0 0.003 0.006 0.009 0.012 \
        --steps 2000 --out benchmarks/results/residual
    # the same runs through the lock-step ROS graph (rig_bringup.residual_graph_run; needs `source scripts/ros_env.sh`)
    .venv/bin/python benchmarks/bench_residual.py graph --methods residual --seeds 0 1 2 --steps 2000
    # tables (and a PNG of the curves) from what is there
    .venv/bin/python benchmarks/bench_residual.py summary --out benchmarks/results/residual
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rig_core.residual_report import draw_success, success_table
from rig_core.residual_rl import ResidualRLConfig, controller_only, run_residual_rl

METHODS = {"residual": {"kp": 1.0, "residual_bound": 1.0}, "rl": {"kp": 0.0, "residual_bound": 1.0},
           "residual_burnin": {"kp": 1.0, "residual_bound": 1.0, "critic_burn_in": 300},
           "residual_sac": {"kp": 1.0, "residual_bound": 1.0, "algo": "sac"},
           "rl_sac": {"kp": 0.0, "residual_bound": 1.0, "algo": "sac"}}
LABELS = {"residual": ("residual RL, TD3", "tab:red"), "rl": ("RL alone, TD3", "tab:blue"),
          "residual_burnin": ("residual TD3, 300 critic-only updates first", "tab:orange"),
          "residual_sac": ("residual RL, SAC", "tab:green"),
          "rl_sac": ("RL alone, SAC", "tab:purple")}


def _config(args: argparse.Namespace, **values: Any) -> ResidualRLConfig:
    base = {"total_steps": args.steps, "eval_every": args.eval_every, "eval_episodes": args.eval_episodes,
            "reward": args.reward}
    return ResidualRLConfig.from_dict({**base, **values})


def curves(args: argparse.Namespace) -> None:
    for method in args.methods:
        for seed in args.seeds:
            config = _config(args, seed=seed, target_error=args.error, **METHODS[method])
            result = run_residual_rl(config, log=lambda s, m=method, sd=seed: print(f"[{m} seed {sd}] {s}", flush=True))
            path = args.out / f"curve_{args.reward}_{method}_seed{seed}.json"
            path.write_text(json.dumps(result, indent=1))
    if args.controller:
        config = _config(args, target_error=args.error, kp=1.0, eval_episodes=args.controller_episodes)
        result = {"config": dataclasses.asdict(config), **controller_only(config)}
        (args.out / "controller.json").write_text(json.dumps(result, indent=1))
        print(f"P-controller alone: success {result['success_rate']:.3f} over {args.controller_episodes} episodes")


def sweep(args: argparse.Namespace) -> None:
    rows = []
    for error in args.errors:
        p = controller_only(_config(args, target_error=error, kp=1.0, eval_episodes=args.controller_episodes))
        row = {"target_error": error, "controller_success": p["success_rate"]}
        if not args.controller_only:
            result = run_residual_rl(_config(args, target_error=error, seed=args.seeds[0], **METHODS["residual"]),
                                     log=lambda s, e=error: print(f"[error {e}] {s}", flush=True))
            row |= {"residual_success": result["curve"][-1]["success_rate"], "residual_curve": result["curve"]}
        rows.append(row)
        print(f"target error {error * 1000:.1f} mm: P-controller {row['controller_success']:.2f}"
              + (f", residual {row['residual_success']:.2f}" if "residual_success" in row else ""), flush=True)
        (args.out / f"sweep_{args.reward}.json").write_text(json.dumps(rows, indent=1))


def graph(args: argparse.Namespace) -> None:
    """Each method and seed through the graph; its curve (the graph-trained weights evaluated like the in-process run)
    and the final evaluation through the graph go to graph_{reward}_{method}_seed{seed}.json."""
    import shutil

    from rig_bringup import residual_graph_run

    for method in args.methods:
        if method not in residual_graph_run.METHODS:
            raise SystemExit(f"bench_residual: no graph run for method {method!r}")
        for seed in args.seeds:
            run_dir = Path("benchmarks/runs/residual_graph") / f"{args.reward}_{method}_seed{seed}"  # logs, weights
            if run_dir.exists():
                shutil.rmtree(run_dir)
            code = residual_graph_run.main(["--method", method, "--seed", str(seed), "--steps", str(args.steps),
                                            "--reward", args.reward, "--error", str(args.error), "--eval-every",
                                            str(args.eval_every), "--eval-episodes", str(args.eval_episodes),
                                            "--out", str(run_dir)])
            if code:
                raise SystemExit(code)
            result = json.loads((run_dir / "results.json").read_text())
            (args.out / f"graph_{args.reward}_{method}_seed{seed}.json").write_text(json.dumps(result, indent=1))
            strips = run_dir / "rollouts_graph.png"
            if strips.exists():
                shutil.copy(strips, args.out / f"graph_rollouts_{args.reward}_{method}_seed{seed}.png")


def _steps_to(curve: list[dict], level: float) -> int | None:
    return next((row["step"] for row in curve if row["success_rate"] >= level), None)


def summary(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    controller = args.out / "controller.json"
    p_rate = json.loads(controller.read_text())["success_rate"] if controller.exists() else None
    rewards = [r for r in ("dense", "sparse", "image") if any(args.out.glob(f"curve_{r}_*.json"))]
    fig, axes = plt.subplots(1, max(len(rewards), 1), figsize=(5 * max(len(rewards), 1), 3.6), squeeze=False)
    for ax, reward in zip(axes[0], rewards, strict=False):
        for method, (name, color) in LABELS.items():
            files = sorted(args.out.glob(f"curve_{reward}_{method}_seed*.json"))
            if not files:
                continue
            runs = [json.loads(f.read_text())["curve"] for f in files]
            steps, rates = success_table(runs)
            to50 = [_steps_to(r, 0.5) for r in runs]
            to90 = [_steps_to(r, 0.9) for r in runs]
            print(f"{reward:6s} {method:8s} seeds {len(runs)}: final success {rates[:, -1].mean():.2f} ± {rates[:, -1].std():.2f}"
                  f" (per seed {', '.join(f'{v:.2f}' for v in rates[:, -1])}); steps to 50 %: {to50}; to 90 %: {to90}")
            print("        mean per eval step: " + " ".join(f"{s}:{m:.2f}" for s, m in zip(steps, rates.mean(0), strict=True)))
            draw_success(ax, steps, rates, name, color)
            graph_files = sorted(args.out.glob(f"graph_{reward}_{method}_seed*.json"))
            if graph_files:
                results = [json.loads(f.read_text()) for f in graph_files]
                g_runs = [r["curve"] for r in results]
                g_steps, g_rates = success_table(g_runs)
                through = [r["final_through_graph"]["success_rate"] for r in results]
                walls = ", ".join(f"{r['wall_s']:.0f}" for r in results)
                means = " ".join(f"{s}:{v:.2f}" for s, v in zip(g_steps, g_rates.mean(0), strict=True))
                print(f"{reward:6s} {method:8s} through the graph, seeds {len(g_runs)}: final success (graph weights "
                      f"evaluated here) {g_rates[:, -1].mean():.2f} (per seed {', '.join(f'{v:.2f}' for v in g_rates[:, -1])})"
                      f" at {g_steps[-1]} steps; evaluated through the graph {np.mean(through):.2f} "
                      f"(per seed {', '.join(f'{v:.2f}' for v in through)}); steps to 50 %: "
                      f"{[_steps_to(r, 0.5) for r in g_runs]}; wall-clock per run "
                      f"{walls} s")
                print(f"        mean per eval step: {means}")
                ax.plot(g_steps, g_rates.mean(0), color=color, ls=":", marker=".", label=f"{name}, through the ROS graph "
                        f"({len(g_runs)} seed{'s' * (len(g_runs) > 1)})")
        if p_rate is not None:
            ax.axhline(p_rate, color="gray", ls="--", label="P-controller alone")
        ax.set_title({"dense": "dense reward (Eq. 48)", "sparse": "sparse reward (Eq. 47)",
                      "image": "goal-image reward (latent distance, §9.6.1)"}[reward])
        ax.set_xlabel("environment steps")
        ax.set_ylabel("success rate")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center right", framealpha=0.6)
    if p_rate is not None:
        print(f"P-controller alone: {p_rate:.2f}")
    fig.suptitle("Insertion: success rate on held-out episodes")
    fig.tight_layout()
    fig.savefig(args.out / "success_vs_steps.png", dpi=110)
    for sweep_file in sorted(args.out.glob("**/sweep_*.json")):
        for row in json.loads(sweep_file.read_text()):
            print(f"{sweep_file.stem}: target error {row['target_error'] * 1000:4.1f} mm  P-controller "
                  f"{row['controller_success']:.2f}  residual {row.get('residual_success', float('nan')):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("curves", "sweep", "graph", "summary"))
    parser.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--reward", choices=("dense", "sparse", "image"), default="dense")
    parser.add_argument("--error", type=float, default=0.006, help="target error for the curves (m)")
    parser.add_argument("--errors", type=float, nargs="+", default=[0.0, 0.003, 0.006, 0.009, 0.012])
    parser.add_argument("--controller", action="store_true", help="curves: also evaluate the P-controller alone")
    parser.add_argument("--controller-episodes", type=int, default=200)
    parser.add_argument("--controller-only", action="store_true", help="sweep: the P-controller alone")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/residual"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    {"curves": curves, "sweep": sweep, "graph": graph, "summary": summary}[args.what](args)


if __name__ == "__main__":
    main()

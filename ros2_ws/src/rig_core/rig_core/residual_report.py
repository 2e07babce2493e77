"""Report of `rig run --env insertion` (thesis ch. 8–9): success rate vs env steps over seeds with the P-controller
alone as a line, and rollout strips around contact: the P-controller alone and the learned policy on the same
held-out episodes (the frames from just before the peg first touches something to the end)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rig_core.residual_rl import ResidualPolicy, ResidualRLConfig, make_env

CONTACT_FORCE = 0.5  # N: |f_z| above this is contact
STRIP_FRAMES = 8
STRIP_IMAGE_SIZE = 160
STRIP_CROP = (0.2, 0.8)  # the middle of the frame (rows and columns), where the socket is


def rollout(env, policy: ResidualPolicy, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """One deterministic episode: its frames, f_z at each, and whether it ended inserted."""
    obs, info = env.reset(seed=seed)
    frames, forces, done = [obs["image"]], [float(obs["state"][3])], False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy(obs, env.controller_target)[0])
        frames.append(obs["image"])
        forces.append(float(obs["state"][3]))
        done = terminated or truncated
    return np.stack(frames), np.asarray(forces), bool(info["is_success"])


def contact_window(forces: np.ndarray, n: int = STRIP_FRAMES) -> slice:
    """`n` frames from two before the first contact (the episode's last `n` when nothing was touched)."""
    touching = np.flatnonzero(np.abs(forces) > CONTACT_FORCE)
    start = max(0, int(touching[0]) - 2) if touching.size else len(forces) - n
    start = min(max(start, 0), max(len(forces) - n, 0))
    return slice(start, start + n)


def contact_strips(config: ResidualRLConfig, policies: dict[str, ResidualPolicy], episodes: int = 3,
                   image_size: int = STRIP_IMAGE_SIZE) -> list[dict[str, Any]]:
    """For each of the first `episodes` held-out episodes, each policy's frames around contact."""
    env = make_env(config, image_size=image_size)
    rows = []
    try:
        for i in range(episodes):
            for name, policy in policies.items():
                frames, forces, success = rollout(env, policy, config.eval_seed + i)
                window = contact_window(forces)
                lo, hi = (round(f * image_size) for f in STRIP_CROP)
                rows.append({"episode": i, "policy": name, "success": success, "frames": frames[window, lo:hi, lo:hi],
                             "steps": list(range(len(forces)))[window], "f_z": forces[window].tolist()})
    finally:
        env.close()
    return rows


def strips_figure(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """One row of frames per rollout (`frames`, `steps`, `episode`, `policy`, `success`, and `f_z` where measured)."""
    n = max(len(r["frames"]) for r in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 1.05, len(rows) * 1.25), squeeze=False)
    for ax_row, row in zip(axes, rows, strict=True):
        for k, ax in enumerate(ax_row):
            ax.axis("off")
            if k < len(row["frames"]):
                ax.imshow(row["frames"][k])
                force = f" f_z={row['f_z'][k]:.1f}" if "f_z" in row else ""
                ax.set_title(f"t={row['steps'][k]}{force}", fontsize=5)
        ax_row[0].text(-0.1, 0.5, f"ep {row['episode']}: {row['policy']}\n{'inserted' if row['success'] else 'not inserted'}",
                       transform=ax_row[0].transAxes, ha="right", va="center", fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def success_table(curves: list[list[dict[str, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation steps every run has (the shortest run's) and each run's success rate at them (runs × steps)."""
    n = min(len(c) for c in curves)
    return (np.array([row["step"] for row in curves[0][:n]]),
            np.array([[row["success_rate"] for row in c[:n]] for c in curves]))


def draw_success(ax, steps: np.ndarray, rates: np.ndarray, label: str, color: str) -> None:
    """Mean success over runs with a ± std band, labelled with the number of seeds."""
    ax.plot(steps, rates.mean(0), color=color, label=f"{label} ({len(rates)} seed{'s' * (len(rates) > 1)})")
    ax.fill_between(steps, rates.mean(0) - rates.std(0), rates.mean(0) + rates.std(0), color=color, alpha=0.2)


def _curve_figure(curves: list[list[dict[str, float]]], controller: float | None, label: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    draw_success(ax, *success_table(curves), label, "tab:red")
    if controller is not None:
        ax.axhline(controller, color="gray", ls="--", label="P-controller alone")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate (held-out episodes)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_residual_report(results: list[dict[str, Any]], strips: list[dict[str, Any]], out: str | Path,
                          command: str = "") -> Path:
    """`report.html` with the curve and the contact strips; `results` are run_residual_rl outputs, one per seed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = results[0]["config"]
    residual = config["kp"] > 0
    label = f"{'residual RL' if residual else 'RL alone'}, {config['algo'].upper()}"
    controller = results[0].get("controller_only", {}).get("success_rate")
    curves = [r["curve"] for r in results]
    _curve_figure(curves, controller, label, out / "success.png")
    if strips:
        strips_figure(strips, out / "contact.png",
                      "Around contact: the P-controller alone vs the learned policy, same held-out episodes")
    finals = [c[-1]["success_rate"] for c in curves]
    rows = "".join(f"<tr><td>{row['step']}</td>" + "".join(f"<td>{c[i]['success_rate']:.2f}</td>" for c in curves)
                   + "</tr>" for i, row in enumerate(curves[0][:min(len(c) for c in curves)]))
    seeds = [r["config"]["seed"] for r in results]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Residual RL report: insertion</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}} td,th{{padding:2px 10px;text-align:right}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>
<h1>{html.escape(label)} on Visual Insertion
(target error ±{config['target_error'] * 1000:.1f} mm, {config['reward']} reward)</h1>
<p>Final success rate at {curves[0][-1]['step']} env steps: <b>{np.mean(finals):.2f}</b> over seeds {seeds}
({', '.join(f'{v:.2f}' for v in finals)}){f"; the P-controller alone: {controller:.2f}" if controller is not None else ""}.</p>
<p><code>{html.escape(command)}</code></p>
<h2>Success rate vs environment steps</h2><img src="success.png">
<table><tr><th>env steps</th>{''.join(f'<th>seed {s}</th>' for s in seeds)}</tr>{rows}</table>
{'<h2>Rollouts around contact (seed ' + str(seeds[0]) + ')</h2><img src="contact.png">' if strips else ''}
<h2>Configuration</h2><pre>{html.escape(json.dumps(config, indent=2))}</pre>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    return path

"""HTML report with PNG figures: learning curve, VAE reconstructions and prior samples, rollout strips."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from rig_core.images import to_tensor, to_uint8
from rig_core.loop import RunResult

METRIC_FOR_ENV = {"reacher": "ee_distance", "pusher": "puck_distance", "multi_pusher": "puck_distance"}


def primary_metric(env: str) -> str:
    return METRIC_FOR_ENV.get(env, "total_distance")


def curve_table(results: list[RunResult], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps and the mean / std over seeds of `metric` at each evaluation step shared by all seeds."""
    steps = sorted(set.intersection(*({row["step"] for row in r.curve} for r in results)))
    values = np.array([[next(row[metric] for row in r.curve if row["step"] == s) for s in steps] for r in results])
    return np.array(steps), values.mean(0), values.std(0)


def draw_curve(ax, steps, mean: np.ndarray, std: np.ndarray, random_policy: float, metric: str, label: str) -> None:
    """Final distance vs env steps, mean ± std band, and the random policy's level, on `ax`."""
    ax.plot(steps, mean, color="tab:red", label=label)
    ax.fill_between(steps, mean - std, mean + std, color="tab:red", alpha=0.2)
    ax.axhline(random_policy, color="gray", ls="--", label="random policy")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"final {metric.replace('_', ' ')} (m)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()


def _plot_curves(results: list[RunResult], path: Path) -> None:
    env = results[0].config.env
    metrics = [m for m in ("ee_distance", "puck_distance") if m in results[0].curve[0]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        steps, mean, std = curve_table(results, metric)
        baseline = float(np.mean([r.random_baseline[metric] for r in results if metric in r.random_baseline]))
        draw_curve(ax, steps, mean, std, baseline, metric, f"RIG ({len(results)} seed{'s' * (len(results) > 1)})")
    fig.suptitle(f"Visual {env}: final distance to held-out goal images")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _row_image(images: np.ndarray, gap_after: int | None = None) -> np.ndarray:
    """(K, S, S, 3) → one (S, K·(S+2), 3) strip with white separators (a wider one after `gap_after`)."""
    size = images.shape[1]
    parts = []
    for i, image in enumerate(images):
        parts.append(image)
        width = 8 if gap_after is not None and i == gap_after else 2
        parts.append(np.full((size, width, 3), 255, np.uint8))
    return np.concatenate(parts[:-1], axis=1)


def _image_grid(rows: list[np.ndarray], labels: list[str], path: Path, title: str,
                gap_after: int | None = None) -> None:
    """Each row: (K, S, S, 3) uint8 images shown as one strip, with its label above it."""
    strips = [_row_image(row, gap_after) for row in rows]
    width = max(s.shape[1] for s in strips)
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(6.0, width / 40), 1.5 * len(rows)), squeeze=False)
    for ax, strip, label in zip(axes[:, 0], strips, labels, strict=True):
        ax.imshow(strip, interpolation="nearest")
        ax.set_title(label, fontsize=8, loc="left")
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _vae_figure(result: RunResult, path: Path) -> None:
    agent = result.agent
    frames = result.vae_frames[:8]
    with torch.no_grad():
        mu, _ = agent.vae.encode_tensor(to_tensor(frames, agent.vae.device))
        recon = to_uint8(agent.vae.decode(mu))
        prior = to_uint8(agent.vae.decode(torch.as_tensor(agent.sample_goals(8), device=agent.vae.device)))
    _image_grid([frames, recon, prior], ["held-out images", "VAE reconstructions", "samples from the prior (imagined goals)"],
                path, "β-VAE")


def _strips_figure(result: RunResult, path: Path) -> None:
    strips = result.final_eval.strips
    rows = [np.concatenate([s["goal"][None], s["frames"]]) for s in strips]
    labels = []
    for i in range(len(strips)):
        dists = ", ".join(f"{k} {v[i]:.3f} m" for k, v in result.final_eval.per_goal.items())
        labels.append(f"goal image | rollout frames → final frame   (final {dists})")
    _image_grid(rows, labels, path, "Rollouts toward held-out goal images", gap_after=0)


def write_report(results: list[RunResult], out_dir: str | Path, command: str = "") -> Path:
    """Write `report.html` and its figures into `out_dir`; also `results.json` with every number."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = results[0].config
    metric = primary_metric(cfg.env)
    _plot_curves(results, out / "curve.png")
    _vae_figure(results[0], out / "vae.png")
    _strips_figure(results[0], out / "rollouts.png")
    steps, mean, std = curve_table(results, metric)
    summary = {
        "env": cfg.env, "metric": metric, "seeds": [r.config.seed for r in results], "command": command,
        "final_step": int(steps[-1]), "final_mean": float(mean[-1]), "final_std": float(std[-1]),
        "random_policy_mean": float(np.mean([r.random_baseline.get(metric, np.nan) for r in results])),
        "curves": {str(r.config.seed): r.curve for r in results},
        "timings": {str(r.config.seed): r.timings for r in results},
        "config": cfg.to_dict(),
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    rows = "".join(f"<tr><td>{s}</td><td>{m:.4f}</td><td>{d:.4f}</td></tr>" for s, m, d in zip(steps, mean, std, strict=True))
    timing_rows = "".join(
        f"<tr><td>{r.config.seed}</td>" + "".join(f"<td>{r.timings.get(k, 0):.1f}</td>" for k in
                                                   ("exploration_s", "vae_pretrain_s", "practice_s", "wall_clock_s"))
        + "</tr>" for r in results)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>RIG report: {html.escape(cfg.env)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}} td,th{{padding:2px 10px;text-align:right}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>
<h1>RIG on Visual {html.escape(cfg.env)}</h1>
<p>Final {metric.replace('_', ' ')} to held-out goal images at {int(steps[-1])} env steps:
<b>{mean[-1]:.4f} ± {std[-1]:.4f} m</b> over seeds {summary['seeds']} (random policy: {summary['random_policy_mean']:.4f} m).</p>
<p><code>{html.escape(command)}</code></p>
<h2>Final distance to goal vs environment steps</h2><img src="curve.png">
<table><tr><th>env steps</th><th>mean (m)</th><th>std (m)</th></tr>{rows}</table>
<h2>VAE: reconstructions and imagined goals</h2><img src="vae.png">
<h2>Rollouts (seed {results[0].config.seed})</h2><img src="rollouts.png">
<h2>Wall-clock (s)</h2><table><tr><th>seed</th><th>exploration</th><th>VAE pre-training</th><th>practice</th>
<th>total</th></tr>{timing_rows}</table>
<h2>Hyper-parameters</h2><pre>{html.escape(json.dumps(cfg.to_dict(), indent=2))}</pre>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    return path

"""HTML report with PNG figures: learning curve, VAE reconstructions and prior samples, rollout strips, and the
proposed goals: plain prior vs Skew-Fit's skewed replay distribution (thesis Fig. 13) and goal coverage."""

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
from rig_core.skewfit import SkewedDistribution, skew_replay

METRIC_FOR_ENV = {"reacher": "ee_distance", "pusher": "puck_distance", "multi_pusher": "puck_distance",
                  "door": "angle_distance", "pickup": "object_distance"}
CURVE_METRICS = ("ee_distance", "puck_distance", "angle_distance", "object_distance")


def primary_metric(env: str) -> str:
    return METRIC_FOR_ENV.get(env, "total_distance")


def unit(metric: str) -> str:
    return "rad" if metric == "angle_distance" else "m"


def curve_table(results: list[RunResult], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps and the mean / std over seeds of `metric` at each evaluation step shared by all seeds."""
    steps = sorted(set.intersection(*({row["step"] for row in r.curve} for r in results)))
    values = np.array([[next(row[metric] for row in r.curve if row["step"] == s) for s in steps] for r in results])
    return np.array(steps), values.mean(0), values.std(0)


def method_label(config) -> str:
    if config.vae.model == "ccvae":
        label = "CC-RIG + Skew-Fit" if config.goals == "skewfit" else "CC-RIG"
    else:
        label = {"skewfit": "RIG + Skew-Fit", "env": "RIG, goals from the env's distribution"}.get(config.goals, "RIG")
    aggregate = config.goals == "skewfit" and config.skewfit.density_estimate == "aggregate"
    return f"{label} (aggregate latent density)" if aggregate else label


def draw_curve(ax, steps, mean: np.ndarray, std: np.ndarray, random_policy: float | None, metric: str, label: str,
               color: str = "tab:red") -> None:
    """Final distance vs env steps, mean ± std band, and the random policy's level (unless None), on `ax`."""
    ax.plot(steps, mean, color=color, label=label)
    ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2)
    if random_policy is not None:
        ax.axhline(random_policy, color="gray", ls="--", label="random policy")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"final {metric.replace('_', ' ')} ({unit(metric)})")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()


def _plot_curves(results: list[RunResult], path: Path) -> None:
    env = results[0].config.env
    metrics = [m for m in CURVE_METRICS if m in results[0].curve[0]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        steps, mean, std = curve_table(results, metric)
        baseline = float(np.mean([r.random_baseline[metric] for r in results if metric in r.random_baseline]))
        draw_curve(ax, steps, mean, std, baseline, metric,
                   f"{method_label(results[0].config)} ({len(results)} seed{'s' * (len(results) > 1)})")
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
        if agent.contextual:  # CC-VAE: each image is its own context; imagined goals for the first image's scene
            mu = torch.as_tensor(agent.encode(frames, frames)[0], device=agent.vae.device)
            goals = agent.sample_goals(8, mu[:1].cpu().numpy())
            labels, title = ["held-out images (each its own context s0)", "CC-VAE reconstructions",
                             "imagined goals (z_g ~ N(0, I), zc of the first image's scene)"], "CC-VAE"
        else:
            mu, _ = agent.vae.encode_tensor(to_tensor(frames, agent.vae.device))
            goals = agent.sample_goals(8)
            labels, title = ["held-out images", "VAE reconstructions", "samples from the prior (imagined goals)"], "β-VAE"
        recon = to_uint8(agent.vae.decode(mu))
        prior = to_uint8(agent.vae.decode(torch.as_tensor(goals, device=agent.vae.device)))
    _image_grid([frames, recon, prior], labels, path, title)


def proposed_goal_slots(result: RunResult, n: int, seed: int = 0) -> tuple[np.ndarray, SkewedDistribution]:
    """Replay slots drawn uniformly and p_skewed (the run's own, or one built now with its VAE for a RIG run)."""
    agent, cfg = result.agent, result.config
    buf = agent.buffer
    rng = np.random.default_rng(seed)
    uniform = rng.integers(0, buf.stored_frame_count(), n)
    skew = agent.skew
    if skew is None:  # a RIG run: what Skew-Fit would propose from the same replay (Eq. 9–10, α of the config)
        skew = skew_replay(agent.vae, buf.frames, buf.stored_frame_count(), cfg.skewfit.alpha,
                           cfg.skewfit.density_decoder(cfg.vae.decoder),
                           cfg.skewfit.density_samples, 512, rng, torch.Generator().manual_seed(seed),
                           cfg.skewfit.log_weight_clip)
    return uniform, skew


def _goals_figure(result: RunResult, path: Path) -> bool:
    """Thesis Fig. 13 / Fig. 70: proposed goals under uniform replay sampling, under p_skewed, and from the prior.
    False when the run's replay is not at hand (graph_run loads the trainer's checkpoint without it)."""
    agent, n = result.agent, 10
    if agent.buffer.stored_frame_count() == 0 or (agent.contextual and agent.skew is None):  # plain CC-RIG
        return False
    if agent.contextual:
        return _scene_goals_figure(result, path, n)
    uniform, skew = proposed_goal_slots(result, n)
    with torch.no_grad():
        z = torch.as_tensor(agent.vae.sample_prior(n, torch.Generator().manual_seed(0)), device=agent.vae.prior_mu.device)
        prior = to_uint8(agent.vae.decode(z))
    own = "this run's" if agent.skew is not None else "built for this figure,"
    rows = [agent.buffer.frames[uniform], agent.buffer.frames[skew.sample(n, np.random.default_rng(1))], prior]
    labels = ["(a) replay states drawn uniformly: what RIG's VAE and goal prior are fitted to",
              f"(b) replay states drawn from p_skewed ({own} α = {skew.alpha:g}, SIR, ESS {skew.effective_sample_size():.1f}"
              f" of {len(skew.slots)})", "(c) decoded samples of the goal prior (imagined goals)"]
    _image_grid(rows, labels, path, f"Proposed goals ({method_label(result.config)}; thesis Fig. 13)")
    return True


def _scene_goals_figure(result: RunResult, path: Path, n: int) -> bool:
    """CC-RIG + Skew-Fit: replay states from p_skewed (each in its own scene), and the same states' z_t decoded with
    the zc of one held-out first frame s0: the goals that scene gets."""
    agent = result.agent
    assert agent.skew is not None
    buf, d = agent.buffer, agent.vae.state_dim
    uniform = np.random.default_rng(0).integers(0, buf.stored_frame_count(), n)
    slots = agent.skew.sample(n, np.random.default_rng(1))
    scene = result.vae_frames[:1]
    goals = agent.buffer.latents[slots].copy()
    goals[:, d:] = agent.encode(scene, scene)[0][0, d:]
    with torch.no_grad():
        moved = to_uint8(agent.vae.decode(torch.as_tensor(goals, device=agent.vae.device)))
    rows = [buf.frames[uniform], buf.frames[slots], np.concatenate([scene, moved])]
    labels = ["(a) replay states drawn uniformly, each in its own scene",
              f"(b) replay states drawn from p_skewed of p(s | s0) (α = {agent.skew.alpha:g}, SIR, ESS "
              f"{agent.skew.effective_sample_size():.1f} of {len(agent.skew.slots)})",
              "(c) a held-out first frame s0, then (b)'s z_t decoded with its zc: the goals this scene gets"]
    _image_grid(rows, labels, path, f"Proposed goals ({method_label(result.config)})")
    return True


def _coverage_figure(results: list[RunResult], path: Path) -> bool:
    """Share of proposed goals whose object moved from its start, over training (False: nothing to plot)."""
    keys = [k for k in ("coverage_uniform", "coverage_skewed", "coverage_prior")
            if any(k in row for r in results for row in r.curve)]
    if not keys:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for key, color, label in (("coverage_uniform", "tab:gray", "uniform replay states (RIG's VAE data)"),
                              ("coverage_skewed", "tab:blue", "p_skewed replay states (Skew-Fit's VAE data and goals)"),
                              ("coverage_prior", "tab:green", "prior goals, as their nearest replay state")):
        for r in results:
            rows = [row for row in r.curve if key in row]
            if rows:
                ax.plot([row["step"] for row in rows], [row[key] for row in rows], color=color, marker=".",
                        label=f"{label}, seed {r.config.seed}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("share with the object moved")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


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
    goals_figure = _goals_figure(results[0], out / "goals.png")
    coverage = _coverage_figure(results, out / "coverage.png")
    steps, mean, std = curve_table(results, metric)
    summary = {
        "env": cfg.env, "metric": metric, "seeds": [r.config.seed for r in results], "command": command,
        "final_step": int(steps[-1]), "final_mean": float(mean[-1]), "final_std": float(std[-1]),
        "random_policy_mean": float(np.mean([r.random_baseline.get(metric, np.nan) for r in results])),
        "random_policy": {str(r.config.seed): r.random_baseline for r in results},  # every metric, per seed
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
    goals_html = (f"<h2>Proposed goals: plain prior vs skewed distribution (seed {results[0].config.seed})</h2>"
                  '<img src="goals.png">' if goals_figure else "")
    coverage_html = ("<h2>Goal coverage over training</h2><p>Share of replay states proposed as goals whose object lies "
                     "more than 5 cm (door: 0.1 rad) from its start, measured on their simulator states.</p>"
                     '<img src="coverage.png">')
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>RIG report: {html.escape(cfg.env)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}} td,th{{padding:2px 10px;text-align:right}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>
<h1>{method_label(cfg)} on Visual {html.escape(cfg.env)}</h1>
<p>Final {metric.replace('_', ' ')} to held-out goal images at {int(steps[-1])} env steps:
<b>{mean[-1]:.4f} ± {std[-1]:.4f} {unit(metric)}</b> over seeds {summary['seeds']}
(random policy: {summary['random_policy_mean']:.4f} {unit(metric)}).</p>
<p><code>{html.escape(command)}</code></p>
<h2>Final distance to goal vs environment steps</h2><img src="curve.png">
<table><tr><th>env steps</th><th>mean ({unit(metric)})</th><th>std ({unit(metric)})</th></tr>{rows}</table>
<h2>VAE: reconstructions and imagined goals</h2><img src="vae.png">
<h2>Rollouts (seed {results[0].config.seed})</h2><img src="rollouts.png">
{goals_html}
{coverage_html if coverage else ""}
<h2>Wall-clock (s)</h2><table><tr><th>seed</th><th>exploration</th><th>VAE pre-training</th><th>practice</th>
<th>total</th></tr>{timing_rows}</table>
<h2>Hyper-parameters</h2><pre>{html.escape(json.dumps(cfg.to_dict(), indent=2))}</pre>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    return path

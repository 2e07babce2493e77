"""SIR effective sample size and goal coverage of Skew-Fit's weights on a real replay, per α and log-weight clip.

Loads a `rig run` checkpoint (VAE + replay + the replay's simulator states), estimates log p̂ of replay frames
under the VAE (App. C.3.1, N latents each), and for each α and clip reports the effective sample size of p_skewed
(Eq. 9–10) and the share of SIR-drawn states whose object moved from its start (the coverage measure).

    .venv/bin/python benchmarks/bench_skew_weights.py /work/runs/skewfit/analysis/rig_10k --candidates 4096 \
        --figure benchmarks/results/goals_pusher_10k.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import sawyer_sim
from rig_core.agent import RIGAgent
from rig_core.ccvae import ContextConditionedVAE
from rig_core.checkpoint import load_checkpoint, load_config
from rig_core.skewfit import SkewedDistribution, estimate_log_density


def rarity_auc(log_p: np.ndarray, moved: np.ndarray) -> float:
    """P(a moved-object frame has lower log p̂ than an unmoved one): 0.5 = the density cannot tell them apart."""
    ranks = np.argsort(np.argsort(-log_p)) + 1.0  # rank 1 = the highest density
    n_moved, n_still = int(moved.sum()), int((~moved).sum())
    if n_moved == 0 or n_still == 0:
        return float("nan")
    return float((ranks[moved].sum() - n_moved * (n_moved + 1) / 2) / (n_moved * n_still))


def pixel_entropy(frames: np.ndarray) -> np.ndarray:
    """Σ over pixels of the binary entropy of each intensity in [0, 1]: the floor of a Bernoulli NLL of that image."""
    x = np.clip(frames.astype(np.float64) / 255.0, 1e-6, 1 - 1e-6)
    return -(x * np.log(x) + (1 - x) * np.log1p(-x)).reshape(len(frames), -1).sum(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--candidates", type=int, default=4096)
    parser.add_argument("--samples", type=int, default=10, help="latents per density estimate (thesis: 10)")
    parser.add_argument("--decoder", choices=("bernoulli", "gaussian"),
                        help="likelihood inside the density estimate (default: the run's VAE decoder)")
    parser.add_argument("--estimate", choices=("importance", "aggregate"), default="importance",
                        help="App. C.3.1's importance-sampled p̂(x), or the leave-one-out aggregate posterior density")
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    parser.add_argument("--figure", type=Path, help="also draw the proposed-goals figure (thesis Fig. 13) per clip: "
                        "FIGURE with _clip<c>.png appended")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.checkpoint)
    agent = RIGAgent(config)
    load_checkpoint(agent, args.checkpoint)
    env = sawyer_sim.make(config.env)
    states = np.load(args.checkpoint / "states.npy")
    n = agent.buffer.stored_frame_count()
    rng = np.random.default_rng(0)
    is_cc = isinstance(agent.vae, ContextConditionedVAE)  # CC-VAE: p̂(s | s0), rows whose s0 is stored
    pool = agent.buffer.trainable_rows() if is_cc else np.arange(n)
    slots = np.sort(rng.choice(pool, size=min(args.candidates, len(pool)), replace=False))
    contexts = agent.buffer.frames[agent.buffer.stored_context_rows()[slots]] if is_cc else None
    moved = env.unwrapped.objects_moved(states[slots])
    frames, decoder = agent.buffer.frames[slots], args.decoder or config.vae.decoder
    t0 = time.perf_counter()
    log_p = estimate_log_density(agent.vae, frames, contexts, args.estimate, decoder, args.samples,
                                 torch.Generator().manual_seed(0))
    seconds = time.perf_counter() - t0
    entropy_corr = float(np.corrcoef(log_p, -pixel_entropy(frames))[0, 1])
    print(f"{args.estimate} density, {len(slots)} replay frames of {n}, {args.samples} latents each: {seconds:.1f} s "
          f"({len(slots) * args.samples / seconds:.0f} decodes/s); log p̂ mean {log_p.mean():.1f}, std {log_p.std():.1f}, "
          f"range {np.ptp(log_p):.1f} nats; moved share (uniform) {moved.mean():.3f}; "
          f"log p̂ moved vs not: {log_p[moved].mean():.1f} vs {log_p[~moved].mean():.1f}; "
          f"AUC of -log p̂ for moved {rarity_auc(log_p, moved):.3f}; "
          f"corr(log p̂, -pixel entropy) {entropy_corr:.3f}")
    rows = []
    print(f"{'alpha':>6} {'clip':>6} {'ESS':>9} {'coverage':>9}")
    for alpha in (-1.0, -0.5, -0.25):
        for clip in (0.0, 5.0, 10.0, 20.0):
            dist = SkewedDistribution.from_log_density(np.arange(len(slots)), log_p, alpha, clip)
            picks = dist.sample(20_000, rng)
            row = {"alpha": alpha, "clip": clip, "ess": dist.effective_sample_size(), "coverage": float(moved[picks].mean())}
            rows.append(row)
            print(f"{alpha:>6} {clip:>6} {row['ess']:>9.1f} {row['coverage']:>9.3f}")
    if args.figure:
        import dataclasses

        from rig_core.loop import RunResult
        from rig_core.report import _goals_figure

        for clip in (0.0, 5.0):
            cfg = dataclasses.replace(config, skewfit=dataclasses.replace(config.skewfit, log_weight_clip=clip))
            agent.skew = None  # built for the figure from this config
            path = args.figure.with_name(f"{args.figure.stem}_clip{clip:g}.png")
            _goals_figure(RunResult(cfg, [], {}, agent=agent), path)
            print(f"figure: {path}")
    if args.out:
        args.out.write_text(json.dumps({"checkpoint": str(args.checkpoint), "candidates": len(slots), "rows": rows,
                                        "decoder": decoder, "estimate": args.estimate,
                                        "rarity_auc": rarity_auc(log_p, moved),
                                        "corr_log_p_neg_pixel_entropy": entropy_corr, "log_p_std": float(log_p.std()),
                                        "uniform_coverage": float(moved.mean())}, indent=2))


if __name__ == "__main__":
    main()

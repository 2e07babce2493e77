"""How far a trained VAE's latent moves when the hand moves, against when the puck moves by the same distance.

RIG's reward is −‖z − z_g‖ (RIG §4.2): if moving the puck by d changes z much less than moving the hand by d, the
policy is paid mostly for the hand. For `--pairs` random goal states of the env, the script renders the state, the
state with the hand moved `--shift` m in a random direction (puck kept) and the state with the puck moved `--shift`
m (hand kept), encodes the three with the checkpoint's VAE and reports ‖Δz‖ for each kind of move.

    .venv/bin/python benchmarks/bench_latent_sensitivity.py CHECKPOINT_DIR [CHECKPOINT_DIR ...] --env pusher \
        [--shift 0.05] [--pairs 200] [--out benchmarks/results/latent_sensitivity.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import sawyer_sim
from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, load_config


def shifted(env, state: np.ndarray, part: slice, shift: float, rng: np.random.Generator) -> np.ndarray | None:
    """`state` with `part` (hand or puck xy) moved `shift` m in a random direction, or None if that leaves the bounds."""
    low, high = env.observation_space["state"].low, env.observation_space["state"].high
    for _ in range(20):
        angle = rng.uniform(0, 2 * np.pi)
        out = state.copy()
        out[part] += shift * np.array([np.cos(angle), np.sin(angle)], np.float32)
        hand_ok = np.all(out[:2] >= env.unwrapped.hand_low) and np.all(out[:2] <= env.unwrapped.hand_high)
        if hand_ok and np.all(out >= low) and np.all(out <= high) and np.linalg.norm(out[2:4] - out[:2]) >= 0.06:
            return out
    return None


def measure(checkpoint: Path, env_name: str, shift: float, pairs: int, seed: int) -> dict:
    config = load_config(checkpoint)
    agent = RIGAgent(config)
    load_checkpoint(agent, checkpoint, with_replay=False)
    env = sawyer_sim.make(env_name, image_size=config.image_size, seed=seed)
    rng = np.random.default_rng(seed)
    base, hand, puck = [], [], []
    while len(base) < pairs:
        s = env.unwrapped.sample_goal_state(rng)
        h, p = shifted(env, s, slice(0, 2), shift, rng), shifted(env, s, slice(2, 4), shift, rng)
        if h is None or p is None:
            continue
        base.append(env.unwrapped.render_state(s))
        hand.append(env.unwrapped.render_state(h))
        puck.append(env.unwrapped.render_state(p))
    env.close()
    z0, zh, zp = (agent.encode(np.stack(frames))[0] for frames in (base, hand, puck))
    dh, dp = np.linalg.norm(zh - z0, axis=1), np.linalg.norm(zp - z0, axis=1)
    pixels_h = np.mean([np.abs(a.astype(int) - b).sum(-1).astype(bool).mean() for a, b in zip(base, hand, strict=True)])
    pixels_p = np.mean([np.abs(a.astype(int) - b).sum(-1).astype(bool).mean() for a, b in zip(base, puck, strict=True)])
    return {"checkpoint": str(checkpoint), "shift_m": shift, "pairs": pairs,
            "latent_move_hand": {"mean": float(dh.mean()), "median": float(np.median(dh))},
            "latent_move_puck": {"mean": float(dp.mean()), "median": float(np.median(dp))},
            "puck_over_hand": float(dp.mean() / dh.mean()),
            "share_of_pairs_puck_moves_z_less": float((dp < dh).mean()),
            "pixels_changed_hand": float(pixels_h), "pixels_changed_puck": float(pixels_p)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--env", default="pusher")
    ap.add_argument("--shift", type=float, default=0.05)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = [measure(c, args.env, args.shift, args.pairs, args.seed) for c in args.checkpoints]
    for r in rows:
        print(f"{r['checkpoint']}: ‖Δz‖ hand moved {r['shift_m']} m {r['latent_move_hand']['mean']:.2f}, puck moved "
              f"{r['latent_move_puck']['mean']:.2f} (puck / hand {r['puck_over_hand']:.2f}; puck moves z less in "
              f"{r['share_of_pairs_puck_moves_z_less']:.0%} of pairs); pixels changed: hand "
              f"{r['pixels_changed_hand']:.3f}, puck {r['pixels_changed_puck']:.3f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""The scene probes that measure CC-RIG's goals: the puck-count probe reads how many pucks a varying-pusher frame shows
on scenes it never saw, and its chance level is the one a scene-blind goal sampler would get."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest

import sawyer_sim
from rig_core.scene_probe import count_chance, fit_count_probe


def _frames(env, seeds: range, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`steps` frames of random actions per scene (reset with each seed) and each frame's puck count."""
    frames, counts = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for _ in range(steps):
            frames.append(obs["image"])
            counts.append(env.unwrapped.n_present)
            obs, *_ = env.step(rng.uniform(-1, 1, 2))
    return np.stack(frames), np.asarray(counts)


def test_count_probe_reads_the_puck_count_of_unseen_scenes():
    env = sawyer_sim.make("varying_pusher", seed=0)
    try:
        rng = np.random.default_rng(0)
        frames, counts = _frames(env, range(40), 10, rng)
        held, held_counts = _frames(env, range(1000, 1060), 1, rng)
    finally:
        env.close()
    assert set(np.unique(counts)) == {0, 1, 2} and len(np.unique(held_counts)) == 3
    probe = fit_count_probe(frames, counts, n_batches=300, seed=0)
    read = probe.predict(held)
    chance = count_chance(held_counts)
    accuracy = float((read == held_counts).mean())
    assert 0.3 < chance < 0.4  # three counts, about equally often
    assert accuracy > 0.9, (accuracy, chance)


def test_count_chance_and_bad_counts():
    assert count_chance(np.array([0, 0, 1, 2])) == pytest.approx(0.5 ** 2 + 2 * 0.25 ** 2)
    assert count_chance(np.array([2, 2, 2])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="puck counts must be 0"):
        fit_count_probe(np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 3]), n_batches=1)

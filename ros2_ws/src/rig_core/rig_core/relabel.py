"""Goal relabeling for latent goal-conditioned TD3 (RIG §4.3: "future", VAE-prior and their mixture)."""

from __future__ import annotations

import numpy as np

from rig_core.replay import ImageReplayBuffer


def relabel_goals(
    buffer: ImageReplayBuffer,
    indices: np.ndarray,
    strategy: str,
    future_fraction: float,
    prior_sample: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Goal latents for the sampled transitions, and the code of each goal's source.

    strategy "none": the goal the step was collected with; "future": the latent of a later frame of
    the same episode (t+1 … T); "vae": a sample from the VAE prior (`prior_sample`, one row per
    transition); "rig": each goal is "future" with probability `future_fraction` (λ, Table 1) and
    a VAE-prior sample otherwise. Source codes: 0 rollout, 1 future, 2 VAE prior.
    """
    n = len(indices)
    slots = buffer.slot(indices)
    source = np.zeros(n, np.int8)
    if strategy == "future":
        source[:] = 1
    elif strategy == "vae":
        source[:] = 2
    elif strategy == "rig":
        source[:] = np.where(rng.random(n) < future_fraction, 1, 2)
    elif strategy != "none":
        raise ValueError(f"unknown relabeling strategy {strategy!r}")
    goals = buffer.goals[slots].copy()
    future = source == 1
    if future.any():
        start = indices[future] + 1
        end = buffer.episode_end[slots[future]]
        chosen = start + (rng.random(future.sum()) * (end - start + 1)).astype(np.int64)
        goals[future] = buffer.latents[buffer.slot(chosen)]
    prior = source == 2
    goals[prior] = prior_sample[prior]
    return goals, source

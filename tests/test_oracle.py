"""The state oracle: TD3 + RIG relabeling on true states learns where a random policy does not."""

from __future__ import annotations

import numpy as np

import sawyer_sim
from rig_core.config import default_config
from rig_core.oracle import GOAL_POOL, OracleAgent, StateScaler, run_oracle


def test_scaler_maps_the_state_bounds_to_the_unit_box() -> None:
    scale = StateScaler(np.array([-0.2, 0.4]), np.array([0.2, 0.8]))
    np.testing.assert_allclose(scale(np.array([[-0.2, 0.4], [0.0, 0.6], [0.2, 0.8]])), [[-1, -1], [0, 0], [1, 1]], atol=1e-6)


def test_relabeled_rewards_are_state_distances() -> None:
    cfg = default_config("pusher", replay_capacity=1000, td3={"batch_size": 16, "hidden_sizes": (8,)})
    pool = np.random.default_rng(0).uniform(-1, 1, (GOAL_POOL, 4)).astype(np.float32)
    agent = OracleAgent(cfg, 4, 2, pool)
    frame, states = np.zeros((1, 1, 3), np.uint8), np.random.default_rng(1).uniform(-1, 1, (6, 4)).astype(np.float32)
    agent.buffer.start_episode(frame, states[0], states[0] * 0)
    for s in states[1:]:
        agent.buffer.add_step(np.zeros(2, np.float32), pool[0], frame, s, s * 0)
    seen = {}
    agent.learner.update = lambda batch: seen.setdefault("batch", batch)
    agent.train(1)
    b = seen["batch"]
    s_next, goal = b.next_obs[:, :4].numpy(), b.next_obs[:, 4:].numpy()
    np.testing.assert_allclose(b.reward.numpy(), -np.linalg.norm(s_next - goal, axis=1), rtol=1e-5)
    stored = {tuple(np.round(s, 5)) for s in states}
    pooled = {tuple(np.round(g, 5)) for g in pool}
    assert all(tuple(np.round(g, 5)) in stored | pooled for g in goal)  # a later state, or a goal of the pool


def test_oracle_learns_to_reach() -> None:
    cfg = default_config("reacher", total_steps=900, exploration_steps=300, eval_every=300, eval_goals=6, seed=0,
                         image_size=32, replay_capacity=2000,
                         td3={"hidden_sizes": (64, 64), "updates_per_step": 2, "batch_size": 64})
    result = run_oracle(cfg, lambda: sawyer_sim.make("reacher", image_size=32, seed=0), show_progress=False)
    first, final = result.curve[0]["ee_distance"], result.curve[-1]["ee_distance"]
    assert [row["step"] for row in result.curve] == [300, 600, 900]
    assert final < 0.5 * result.random_baseline["ee_distance"], (final, result.random_baseline)
    assert final < 0.5 * first, (first, final)  # learned from practice, not from the untrained actor

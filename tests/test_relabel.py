import numpy as np
import pytest
import torch

from rig_core.agent import RIGAgent
from rig_core.config import default_config
from rig_core.relabel import relabel_goals
from rig_core.replay import ImageReplayBuffer
from rig_core.rewards import latent_distance_reward, log_prob_reward


def _buffer() -> ImageReplayBuffer:
    buf = ImageReplayBuffer(1000, 8, 2, 2)
    k = 0
    for _ in range(20):
        buf.start_episode(np.zeros((8, 8, 3), np.uint8), np.array([k, 0], np.float32), np.zeros(2, np.float32))
        k += 1
        for _ in range(10):
            buf.add_step(np.zeros(2, np.float32), np.array([-1, -1], np.float32), np.zeros((8, 8, 3), np.uint8),
                         np.array([k, 0], np.float32), np.zeros(2, np.float32))
            k += 1
    return buf


@pytest.mark.parametrize("strategy, expected", [("none", (1, 0, 0)), ("future", (0, 1, 0)), ("vae", (0, 0, 1)),
                                                ("rig", (0, 0.5, 0.5))])
def test_proportions(strategy, expected):
    buf, rng = _buffer(), np.random.default_rng(0)
    idx = buf.sample_indices(4000, rng)
    prior = np.full((4000, 2), 99, np.float32)
    goals, source = relabel_goals(buf, idx, strategy, 0.5, prior, rng)
    fractions = [np.mean(source == s) for s in (0, 1, 2)]
    np.testing.assert_allclose(fractions, expected, atol=0.03)
    np.testing.assert_array_equal(goals[source == 0], -1)  # rollout goal kept
    np.testing.assert_array_equal(goals[source == 2], 99)  # prior sample used
    future = source == 1
    if future.any():  # a later frame of the same episode: t+1 … episode end
        assert np.all(goals[future, 0] >= idx[future] + 1)
        assert np.all(goals[future, 0] <= buf.episode_end[buf.slot(idx[future])])


def test_batch_rewards_are_recomputed_for_relabeled_goals():
    cfg = default_config("point", image_size=48, replay_capacity=1000, vae={"latent_dim": 2})
    agent = RIGAgent(cfg)
    agent.buffer = _buffer_48()
    batch, source = agent.sample_batch(512)
    z_next, goal = batch.next_obs[:, :2].numpy(), batch.next_obs[:, 2:].numpy()
    expected = latent_distance_reward(z_next, goal) * cfg.td3.reward_scale
    np.testing.assert_allclose(batch.reward.numpy(), expected, rtol=1e-5)
    assert set(np.unique(source)) == {1, 2}
    assert torch.equal(batch.obs[:, 2:], batch.next_obs[:, 2:])  # same goal before and after


def _buffer_48() -> ImageReplayBuffer:
    buf = ImageReplayBuffer(1000, 48, 2, 2)
    rng = np.random.default_rng(0)
    frame = np.zeros((48, 48, 3), np.uint8)
    for _ in range(5):
        buf.start_episode(frame, rng.normal(size=2).astype(np.float32), np.zeros(2, np.float32))
        for _ in range(10):
            buf.add_step(rng.uniform(-1, 1, 2), np.zeros(2, np.float32), frame, rng.normal(size=2).astype(np.float32),
                         np.zeros(2, np.float32))
    return buf


def test_reward_alternatives():
    z, g = np.array([[0.0, 0.0], [3.0, 4.0]]), np.zeros((2, 2))
    np.testing.assert_allclose(latent_distance_reward(z, g), [0, -5])
    np.testing.assert_allclose(log_prob_reward(z, np.log(np.full((2, 2), 4.0)), g), [0, -0.5 * 25 / 4])

import numpy as np
import torch

from rig_core.config import TD3Config
from rig_core.td3 import TD3, Batch


def _rollout(agent: TD3, rng: np.random.Generator, noise: float):
    """A 2-D goal-reaching task in vector form: obs = (position, goal), reward = −distance."""
    pos, goal = np.zeros(2, np.float32), rng.uniform(-0.8, 0.8, 2).astype(np.float32)
    steps = []
    for _ in range(15):
        obs = np.concatenate([pos, goal])
        action = np.clip(agent.act(obs) + noise * rng.standard_normal(2), -1, 1).astype(np.float32)
        pos = np.clip(pos + 0.15 * action, -0.9, 0.9).astype(np.float32)
        steps.append((obs, action, np.concatenate([pos, goal]), -np.linalg.norm(pos - goal)))
    return steps, float(np.linalg.norm(pos - goal))


def test_td3_learns_a_small_goal_task():
    rng = np.random.default_rng(0)
    agent = TD3(4, 2, TD3Config(hidden_sizes=(64, 64)), seed=0)
    before = np.mean([_rollout(agent, rng, 0.0)[1] for _ in range(30)])
    data = []
    for _ in range(120):
        data += _rollout(agent, rng, 0.3)[0]
        for _ in range(30):
            obs, act, nxt, rew = map(np.array, zip(*(data[i] for i in rng.integers(0, len(data), 128)), strict=True))
            agent.update(Batch(torch.tensor(obs), torch.tensor(act), torch.tensor(rew, dtype=torch.float32),
                               torch.tensor(nxt), torch.zeros(128)))
    after = np.mean([_rollout(agent, rng, 0.0)[1] for _ in range(30)])
    assert after < 0.25 * before, (before, after)


def test_delayed_actor_and_target_updates():
    agent = TD3(4, 2, TD3Config(hidden_sizes=(16,), policy_delay=2), seed=0)
    batch = Batch(torch.randn(8, 4), torch.rand(8, 2) * 2 - 1, torch.randn(8), torch.randn(8, 4), torch.zeros(8))
    actor_before = [p.clone() for p in agent.actor.parameters()]
    target_before = [p.clone() for p in agent.critic_target.parameters()]
    stats = agent.update(batch)  # update 1: critic only
    assert "td3/actor_loss" not in stats
    assert all(torch.equal(a, b) for a, b in zip(actor_before, agent.actor.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(target_before, agent.critic_target.parameters(), strict=True))
    stats = agent.update(batch)  # update 2: actor and Polyak-averaged targets too
    assert "td3/actor_loss" in stats
    assert not all(torch.equal(a, b) for a, b in zip(actor_before, agent.actor.parameters(), strict=True))
    for target, online, old in zip(agent.critic_target.parameters(), agent.critic.parameters(), target_before, strict=True):
        torch.testing.assert_close(target, old + 0.01 * (online - old))


def test_actor_gradient_skips_the_critic_weights():
    from rig_core.networks import TwinCritic

    critic = TwinCritic(6, 2, (32, 16))
    obs, action = torch.randn(5, 6), torch.randn(5, 2, requires_grad=True)
    torch.testing.assert_close(critic.q1_frozen(obs, action), critic(obs, action)[0])
    critic.q1_frozen(obs, action).sum().backward()
    assert action.grad is not None and all(p.grad is None for p in critic.parameters())

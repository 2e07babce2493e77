"""Offline RL (rig_core.offline): each algorithm learns a 2-D goal-reaching task from scripted demos and
random episodes, plus the specific pieces of each update (Q-filter, expectile loss, AWAC weights)."""

import numpy as np
import pytest
import torch

from rig_core.errors import DataError
from rig_core.offline import (
    AWAC,
    IQL,
    TD3BC,
    AWACConfig,
    DemoBatch,
    IQLConfig,
    TD3BCConfig,
    TrajectoryDataset,
    awac_weights,
    expectile_loss,
    q_filter_mask,
)

STEPS, SPEED = 15, 0.15


def _episode(policy, goal: np.ndarray, rng: np.random.Generator):
    """The test_td3 point task: obs = position ⊕ goal, 15 steps of 0.15 × action, start at the origin."""
    pos, steps = np.zeros(2, np.float32), []
    for _ in range(STEPS):
        action = np.clip(policy(np.concatenate([pos, goal]).astype(np.float32), rng), -1, 1).astype(np.float32)
        nxt = np.clip(pos + SPEED * action, -0.9, 0.9).astype(np.float32)
        steps.append((pos, action, nxt))
        pos = nxt
    return steps, float(np.linalg.norm(pos - goal))


def _demonstrator(obs, rng):  # P-controller toward the goal plus noise
    return (obs[2:] - obs[:2]) / SPEED + 0.3 * rng.standard_normal(2)


def _random(obs, rng):
    return rng.uniform(-1, 1, 2)


@pytest.fixture(scope="module")
def dataset() -> TrajectoryDataset:
    """30 demonstrations and 30 random-action episodes (not demos), goals uniform in [-0.8, 0.8]²."""
    rng = np.random.default_rng(0)
    rows = []
    for episode in range(60):
        demo = episode % 2 == 0
        steps, _ = _episode(_demonstrator if demo else _random, rng.uniform(-0.8, 0.8, 2).astype(np.float32), rng)
        rows += [(pos, act, nxt, demo, episode) for pos, act, nxt in steps]
    latents, actions, next_latents, is_demo, ids = map(np.array, zip(*rows, strict=True))
    return TrajectoryDataset(latents, actions, next_latents, is_demo, ids)


def _final_distance(policy) -> float:
    rng = np.random.default_rng(123)  # the same held-out goals for every policy
    goals = rng.uniform(-0.8, 0.8, (40, 2)).astype(np.float32)
    return float(np.mean([_episode(policy, g, rng)[1] for g in goals]))


def _train(agent, dataset, n_updates: int, batch_size: int, demo_batch_size: int = 0):
    rng = np.random.default_rng(1)
    for _ in range(n_updates):
        stats = agent.update(dataset.sample(batch_size, rng, "future", demo_batch_size=demo_batch_size))
    return {k: float(v) for k, v in stats.items()}


def _learns(agent, dataset, n_updates, batch_size, demo_batch_size=0):
    random_distance = _final_distance(_random)
    _train(agent, dataset, n_updates, batch_size, demo_batch_size)
    learned = _final_distance(lambda obs, rng: agent.act(obs))
    print(f"{type(agent).__name__}: final distance {learned:.3f} vs random {random_distance:.3f}")
    assert learned < 0.3 * random_distance, (learned, random_distance)


SMALL = {"hidden_sizes": (64, 64)}


def test_td3_bc_learns_from_demos(dataset):
    # l2_reg = 0: the thesis' 5e-3 (as coefficient · Σθ²) shrinks these small nets to a constant action here
    agent = TD3BC(4, 2, TD3BCConfig(**SMALL, l2_reg=0.0), seed=0)
    _learns(agent, dataset, 400, 256, demo_batch_size=64)


def test_iql_learns_from_demos_and_random_data(dataset):
    _learns(IQL(4, 2, IQLConfig(**SMALL), seed=0), dataset, 400, 256)


def test_awac_learns_from_demos_and_random_data(dataset):
    agent = AWAC(4, 2, AWACConfig(policy_hidden_sizes=(64, 64), critic_hidden_sizes=(64, 64)), seed=0)
    _learns(agent, dataset, 400, 256)


def test_expectile_loss_is_asymmetric():
    u = torch.tensor([2.0, -2.0])
    torch.testing.assert_close(expectile_loss(u, 0.8), torch.tensor([0.8 * 4, 0.2 * 4]))  # |τ − 1(u < 0)| u²
    torch.testing.assert_close(expectile_loss(u, 0.5), 0.5 * u.pow(2))  # τ = 0.5: mean squared error
    # minimising it gives the τ-expectile: above the mean for τ > 0.5, and the first-order condition holds
    x = torch.randn(4000, generator=torch.Generator().manual_seed(0))
    m = torch.zeros((), requires_grad=True)
    optim = torch.optim.Adam([m], lr=0.05)
    for _ in range(300):
        optim.zero_grad()
        expectile_loss(x - m, 0.9).mean().backward()
        optim.step()
    m = m.detach()
    weights = torch.where(x < m, 0.1, 0.9)
    assert float(m) > float(x.mean()) + 0.5
    assert abs(float((weights * (x - m)).mean())) < 1e-3


def test_awac_weights_are_exp_advantage_over_lambda_normalised_over_the_batch():
    adv = torch.tensor([0.0, 0.3, -0.3, 1.0])
    w = awac_weights(adv, 0.3)
    torch.testing.assert_close(w.sum(), torch.tensor(4.0))  # B · softmax: batch mean 1
    torch.testing.assert_close(w / w[0], torch.exp(adv / 0.3))  # relative weights exp(A / λ), Eq. 35
    torch.testing.assert_close(awac_weights(adv + 5.0, 0.3), w)  # a baseline shift changes nothing
    torch.testing.assert_close(awac_weights(adv, 0.3, normalize=False, max_weight=20.0),
                               torch.exp(adv / 0.3).clamp(max=20.0))


def test_offline_agents_share_the_td3_interface():
    for agent in (TD3BC(4, 2, TD3BCConfig(hidden_sizes=(8,))), IQL(4, 2, IQLConfig(hidden_sizes=(8,))),
                  AWAC(4, 2, AWACConfig(policy_hidden_sizes=(8,), critic_hidden_sizes=(8,)))):
        batch = DemoBatch(torch.randn(8, 4), torch.rand(8, 2) * 2 - 1, torch.randn(8), torch.randn(8, 4),
                          torch.zeros(8), is_demo=torch.ones(8))
        stats = {k: float(v) for k, v in agent.update(batch).items()}
        assert stats and all(np.isfinite(list(stats.values())))
        assert agent.act(np.zeros(4, np.float32)).shape == (2,)
        assert agent.act(np.zeros((3, 4), np.float32)).shape == (3, 2)
        assert set(agent.modules()) >= {"actor", "critic"} and set(agent.optimizers()) >= {"actor_optim"}


def test_q_filter_clones_only_where_the_demo_action_is_better():
    q_demo = torch.tensor([1.0, -1.0, 2.0, 0.0])
    q_policy = torch.tensor([0.0, 0.0, 3.0, -1.0])
    is_demo = torch.tensor([1.0, 1.0, 1.0, 0.0])
    assert q_filter_mask(q_demo, q_policy, is_demo).tolist() == [1.0, 0.0, 0.0, 0.0]


def _td3_bc_on_critic(q_filter: bool, demo_better: bool) -> float:
    """BC-only actor step (λ1 = 0) with a critic rigged so the demo action is better or worse than π(s)."""
    cfg = TD3BCConfig(hidden_sizes=(16,), rl_weight=0.0, l2_reg=0.0, policy_delay=1, q_filter=q_filter)
    agent = TD3BC(4, 2, cfg, seed=0)
    demo_action = torch.full((8, 2), 0.5)
    sign = 1.0 if demo_better else -1.0

    class RiggedCritic(torch.nn.Module):  # Q(s, a) = ∓‖a − a_demo‖²: highest (or lowest) at the demo action
        def __init__(self):
            super().__init__()
            self.offset = torch.nn.Parameter(torch.zeros(()))

        def forward(self, obs, action):
            q = -sign * (action - demo_action).pow(2).sum(-1) + self.offset
            return torch.stack([q, q])

        def q1_frozen(self, obs, action):  # the interface TD3's actor step uses
            return self(obs, action)[0]

    agent.critic = RiggedCritic()
    agent.critic_optim = torch.optim.SGD(agent.critic.parameters(), lr=0.0)
    agent.critic_target = agent.critic
    agent._pairs = [agent._pairs[0]]
    before = [p.detach().clone() for p in agent.actor.parameters()]
    batch = DemoBatch(torch.randn(8, 4), demo_action, torch.zeros(8), torch.randn(8, 4), torch.zeros(8),
                      is_demo=torch.ones(8))
    stats = agent.update(batch)
    moved = sum(float((a - b.detach()).abs().sum()) for a, b in zip(before, agent.actor.parameters(), strict=True))
    return float(stats["td3_bc/q_filter_rate"]), moved


def test_q_filter_switches_bc_off_and_on():
    rate, moved = _td3_bc_on_critic(q_filter=True, demo_better=True)
    assert rate == 1.0 and moved > 0  # demo action better: BC on
    rate, moved = _td3_bc_on_critic(q_filter=True, demo_better=False)
    assert rate == 0.0 and moved == 0.0  # π(s) better: BC off, and with λ1 = 0 the actor does not move
    rate, moved = _td3_bc_on_critic(q_filter=False, demo_better=False)
    assert rate == 1.0 and moved > 0  # "No Q-Filter" ablation clones regardless


def test_dataset_relabels_goals_from_the_same_trajectory_future(dataset):
    batch = dataset.sample(512, np.random.default_rng(0), "future")
    z, g, z_next = batch.obs[:, :2].numpy(), batch.obs[:, 2:].numpy(), batch.next_obs[:, :2].numpy()
    np.testing.assert_allclose(batch.reward.numpy(), -np.linalg.norm(z_next - g, axis=1), rtol=1e-6)
    # every goal is a latent reached later in the episode of that transition
    for zi, gi in zip(z[:100], g[:100], strict=True):
        frames = np.flatnonzero((dataset.latents == zi).all(1))  # the origin starts every episode
        assert any((dataset.latents[f + 1:dataset.episode_end[f] + 1] == gi).all(1).any() for f in frames)
    demo_rows = dataset.sample(64, np.random.default_rng(0), "future", demo_batch_size=16).is_demo
    assert demo_rows[:16].eq(1).all()


def test_dataset_rejects_gaps():
    z = np.zeros((3, 2), np.float32)
    nxt = np.ones((3, 2), np.float32)
    with pytest.raises(DataError, match="episode 7"):
        TrajectoryDataset(z, np.zeros((3, 2)), nxt, np.ones(3), np.full(3, 7))

"""Goal coverage (rig_core/loop.py `_Coverage`): the share of proposed goals whose puck moved, for uniform replay
states and for imagined prior goals read as their nearest replay state."""

import numpy as np

import sawyer_sim
from rig_core.agent import RIGAgent
from rig_core.config import default_config
from rig_core.loop import _Coverage


def _filled_agent_and_coverage(n: int = 400) -> tuple[RIGAgent, _Coverage]:
    """A pusher agent whose replay holds n states: even rows with the puck at its start and latents near −3, odd
    rows with the puck moved 10 cm and latents near +3."""
    env = sawyer_sim.make("pusher", image_size=32, seed=0)
    env.reset(seed=0)
    cfg = default_config("pusher", replay_capacity=1000, image_size=32, vae={"latent_dim": 4})
    agent = RIGAgent(cfg)
    coverage = _Coverage(env, cfg.replay_capacity, None)
    rng = np.random.default_rng(0)
    frame = np.zeros((32, 32, 3), np.uint8)
    start = np.asarray(env.unwrapped.task_spec.puck_starts, np.float64).reshape(-1)
    for i in range(n):
        moved = i % 2 == 1
        latent = (rng.normal(0, 0.3, 4) + (3.0 if moved else -3.0)).astype(np.float32)
        state = np.concatenate([[0.0, 0.6], start + (0.1 if moved else 0.0)]).astype(np.float32)
        if i == 0:
            agent.buffer.start_episode(frame, latent, np.zeros(4, np.float32))
        else:
            agent.buffer.add_step(np.zeros(2, np.float32), latent, frame, latent, np.zeros(4, np.float32))
        coverage.record(agent.buffer, state)
    env.close()
    return agent, coverage


def test_prior_goals_are_read_as_their_nearest_replay_state():
    agent, coverage = _filled_agent_and_coverage()
    uniform = coverage.measure(agent)["coverage_uniform"]
    assert 0.4 < uniform < 0.6  # half the replay moved the puck
    agent.vae.prior_mu.fill_(3.0)
    agent.vae.prior_std.fill_(0.3)
    assert coverage.measure(agent)["coverage_prior"] > 0.95  # goals imagined where the moved states' latents lie
    agent.vae.prior_mu.fill_(-3.0)
    assert coverage.measure(agent)["coverage_prior"] < 0.05
    agent.vae.reset_prior()  # N(0, I) lies between: some of each
    assert 0.2 < coverage.measure(agent)["coverage_prior"] < 0.8


def test_measuring_coverage_leaves_the_run_streams_alone():
    agent, coverage = _filled_agent_and_coverage()
    rng_state, torch_state = agent.rng.bit_generator.state, agent.torch_rng.get_state()
    first = coverage.measure(agent)
    assert coverage.measure(agent) == first  # its own streams, seeded by the replay's size
    assert agent.rng.bit_generator.state == rng_state
    assert (agent.torch_rng.get_state() == torch_state).all()

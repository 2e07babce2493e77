import numpy as np
import pytest
import torch

from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, load_config, load_policy_bytes, policy_bytes, save_checkpoint
from rig_core.config import default_config
from rig_core.errors import CheckpointError
from rig_core.loop import run_rig


def _small_config(**overrides):
    base = dict(total_steps=120, exploration_steps=40, eval_every=40, eval_goals=2, replay_capacity=1000,
                td3={"hidden_sizes": [32, 32], "batch_size": 16, "updates_per_step": 1},
                vae={"latent_dim": 4, "pretrain_batches": 5})
    base.update(overrides)
    return default_config("point", **base)


def _agent_with_data(config) -> RIGAgent:
    agent = RIGAgent(config)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    agent.buffer.start_episode(frame, np.zeros(4, np.float32), np.zeros(4, np.float32))
    for _ in range(30):
        agent.buffer.add_step(rng.uniform(-1, 1, 2), np.ones(4, np.float32), frame, rng.normal(size=4),
                              np.zeros(4, np.float32))
    agent.train(3)
    return agent


def test_round_trip_restores_every_tensor_and_the_replay(tmp_path):
    cfg = _small_config()
    agent = _agent_with_data(cfg)
    save_checkpoint(agent, tmp_path, {"step": 7})
    assert load_config(tmp_path) == cfg
    fresh = RIGAgent(cfg)
    assert load_checkpoint(fresh, tmp_path) == {"step": 7}
    for name, module in agent.learner.modules().items():
        for (k, a), b in zip(module.state_dict().items(), fresh.learner.modules()[name].state_dict().values(), strict=True):
            assert torch.equal(a, b), f"{name}.{k}"
    np.testing.assert_array_equal(fresh.buffer.frames[:31], agent.buffer.frames[:31])
    assert len(fresh.buffer) == len(agent.buffer) and fresh.learner.updates == agent.learner.updates
    # same RNG state → identical next batches and updates (the global torch RNG is shared: rewind it)
    torch_state = torch.get_rng_state()
    a_stats = agent.train(2)
    torch.set_rng_state(torch_state)
    b_stats = fresh.train(2)
    assert a_stats == pytest.approx(b_stats)


def test_resume_continues_where_it_stopped(tmp_path, point_env_factory):
    cfg = _small_config()
    full = run_rig(cfg, point_env_factory, tmp_path / "full", show_progress=False)
    part_cfg = _small_config(total_steps=80)
    run_rig(part_cfg, point_env_factory, tmp_path / "part", show_progress=False)
    # widen the run to 120 steps and resume from the 80-step checkpoint
    import json

    from safetensors import safe_open
    with safe_open(str(tmp_path / "part" / "agent.safetensors"), "pt") as f:
        progress = json.loads(f.metadata()["progress"])
    assert progress["step"] == 80
    resumed = run_rig(cfg, point_env_factory, tmp_path / "part", resume=True, show_progress=False)
    assert [row["step"] for row in resumed.curve] == [row["step"] for row in full.curve]
    assert resumed.agent.buffer.env_steps == 120


def test_mismatched_and_corrupt_checkpoints_fail_clearly(tmp_path):
    agent = _agent_with_data(_small_config())
    save_checkpoint(agent, tmp_path)
    other = RIGAgent(_small_config(td3={"hidden_sizes": [64, 32], "batch_size": 16}))
    with pytest.raises(CheckpointError, match=r"tensor actor\.net\.0\.weight has shape \(32, 8\), model expects \(64, 8\)"):
        load_checkpoint(other, tmp_path)
    model = tmp_path / "agent.safetensors"
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        load_checkpoint(RIGAgent(_small_config()), tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(agent, tmp_path / "missing")


def test_policy_weights_travel_as_safetensors_bytes():
    cfg = _small_config()
    agent = _agent_with_data(cfg)
    data = policy_bytes(agent, version=5)
    receiver = RIGAgent(cfg)
    assert load_policy_bytes(receiver, data) == 5
    obs = np.ones(8, np.float32)
    np.testing.assert_array_equal(receiver.learner.act(obs), agent.learner.act(obs))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_policy_bytes(receiver, data[:50])


def test_policy_weights_say_whether_a_vae_was_trained():
    """The policy node acts on noise alone while the weights come from before VAE pre-training (exploring)."""
    from rig_core.policy_weights import load_policy_weights

    agent = RIGAgent(_small_config())
    before = load_policy_weights(policy_bytes(agent, version=1))
    assert before.vae_version == 0 and before.exploring
    agent.vae_version = 3
    after = load_policy_weights(policy_bytes(agent, version=2))
    assert after.vae_version == 3 and not after.exploring

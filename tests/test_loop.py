"""The whole RIG loop on the small point-image env: exploration → VAE → imagined-goal practice."""

from rig_core.config import default_config
from rig_core.loop import run_rig


def test_rig_learns_to_reach_goal_images(point_env_factory):
    cfg = default_config("point", seed=0, total_steps=2400, exploration_steps=600, eval_every=600, eval_goals=10,
                         vae={"latent_dim": 4, "pretrain_batches": 600},
                         td3={"hidden_sizes": [64, 64]})
    result = run_rig(cfg, point_env_factory, show_progress=False)
    steps = [row["step"] for row in result.curve]
    assert steps[0] >= cfg.exploration_steps and steps[-1] == cfg.total_steps
    final = result.curve[-1]["ee_distance"]
    assert final < 0.6 * result.random_baseline["ee_distance"], (result.curve, result.random_baseline)
    assert final < 0.6 * result.curve[0]["ee_distance"]  # better than the untrained policy


def test_online_vae_retrains_and_reencodes_replay(point_env_factory):
    import numpy as np

    cfg = default_config("point", seed=1, total_steps=300, exploration_steps=100, eval_every=100, eval_goals=2,
                         replay_capacity=1000, vae={"latent_dim": 4, "pretrain_batches": 20, "online_every": 100,
                                                    "online_batches": 10},
                         td3={"hidden_sizes": [32, 32], "batch_size": 32, "updates_per_step": 1})
    result = run_rig(cfg, point_env_factory, show_progress=False)
    agent = result.agent
    assert agent.vae_version == 1 + 2  # pre-training, then online at steps 200 and 300
    n = agent.buffer.stored_frame_count()
    np.testing.assert_allclose(agent.buffer.latents[:n], agent.encode(agent.buffer.frames[:n])[0], atol=1e-5)


def test_reward_alternatives_run_end_to_end(point_env_factory):
    for reward in ("log_prob", "pixel_mse"):
        cfg = default_config("point", total_steps=150, exploration_steps=100, eval_every=50, eval_goals=2,
                             replay_capacity=1000, reward=reward, relabel="future",
                             vae={"latent_dim": 4, "pretrain_batches": 10},
                             td3={"hidden_sizes": [32, 32], "batch_size": 32, "updates_per_step": 1})
        result = run_rig(cfg, point_env_factory, show_progress=False)
        assert [row["step"] for row in result.curve] == [100, 150]

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

"""CC-RIG + Skew-Fit: p_skewed of p̂(s | s0) under the CC-VAE, and goals moved into the current scene."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load, save

from point_env import ColourPointImageEnv
from rig_core.agent import GOAL_POOL_SIZE, RIGAgent
from rig_core.checkpoint import POLICY_FORMAT, policy_bytes
from rig_core.config import default_config
from rig_core.errors import CheckpointError
from rig_core.images import to_uint8
from rig_core.loop import run_rig
from rig_core.policy_weights import imagined_goal, load_policy_weights
from rig_core.report import method_label, write_report
from rig_core.scene_probe import colour_match
from rig_core.skewfit import skew_replay

PALETTE = np.array([(230, 40, 40), (40, 220, 40), (50, 80, 240), (240, 230, 40), (230, 40, 230), (40, 230, 230),
                    (245, 245, 245), (250, 140, 20)], np.uint8)


def _scene_episodes(env: ColourPointImageEnv, n_scenes: int, common: int, rare: int, seed: int):
    """Per scene (a palette colour each): its first frame, `common` frames with the dot near its start and `rare`
    frames with it far off to the right, as early exploration leaves a replay. Returns episodes and rare flags."""
    rng = np.random.default_rng(seed)
    episodes, flags = [], []
    for i in range(n_scenes):
        first, _ = env.reset(seed=seed + i, options={"colour": PALETTE[i % len(PALETTE)]})
        states = [rng.normal(0, 0.03, 2) for _ in range(common)] + [rng.uniform([0.4, -0.8], [0.8, 0.8]) for _ in range(rare)]
        episodes.append([first["image"]] + [env.render_state(np.asarray(s, np.float32)) for s in states])
        flags += [False] * (1 + common) + [True] * rare
    return episodes, np.array(flags)


def _cc_skew_agent(**skewfit) -> RIGAgent:
    cfg = default_config("point", goals="skewfit", image_size=32, replay_capacity=2000,
                         vae={"model": "ccvae", "latent_dim": 2, "context_dim": 8, "lr": 3e-3, "batch_size": 32},
                         skewfit={"goal_source": "skewed", "alpha": -1.0, "density_samples": 4, **skewfit})
    return RIGAgent(cfg)


def _fill(agent: RIGAgent, episodes: list[list[np.ndarray]]) -> None:
    zero = np.zeros(agent.latent_dim, np.float32)
    for frames in episodes:
        agent.buffer.start_episode(frames[0], zero, zero)
        for frame in frames[1:]:
            agent.buffer.add_step(np.zeros(2, np.float32), zero, frame, zero, zero)


def test_scene_density_finds_rare_states_and_transferred_goals_keep_the_scene_colour():
    """Rare dot positions are scored less likely within their scene and skewed up; goals take z_t from p_skewed and
    zc from the scene at hand, so they decode in that scene's colour, where RIG's p_skewed replay goals (frames of
    other scenes) match it only by chance. Both rates are measured with the same colour read."""
    env = ColourPointImageEnv(image_size=32)
    episodes, rare = _scene_episodes(env, 48, common=9, rare=1, seed=0)
    torch.manual_seed(0)
    agent = _cc_skew_agent(log_weight_clip=5.0)  # unclipped, SIR keeps ~2 states here (as on the pusher)
    _fill(agent, episodes)
    agent.train_vae_on_replay(600)  # plain MLE first, as the schedule does
    stats = agent.train_vae_on_replay(5, skewed=True)
    skew = agent.skew
    assert skew is not None and len(skew.slots) == len(rare)
    assert skew.log_density[rare[skew.slots]].mean() < skew.log_density[~rare[skew.slots]].mean()
    rare_share = skew.probs[rare[skew.slots]].sum()
    print(f"rare states: {rare.mean():.3f} of the replay, {rare_share:.3f} of p_skewed; ESS {stats['skew/ess']:.1f}")
    assert rare_share > 2 * rare.mean()

    held = [env.reset(seed=10_000 + i, options={"colour": PALETTE[i % len(PALETTE)]})[0]["image"] for i in range(64)]
    held_colours = PALETTE[np.arange(64) % len(PALETTE)] / 255.0
    scene_latents = agent.encode(np.stack(held), np.stack(held))[0]
    goals = agent.sample_goals(64, scene_latents)
    np.testing.assert_allclose(goals[:, 2:], scene_latents[:, 2:])  # zc: the scene at hand
    stored = agent.buffer.latents[: agent.buffer.stored_frame_count(), :2]
    assert (np.abs(goals[:, None, :2] - stored[None]).max(-1) < 1e-6).any(1).all()  # z_t: a stored state's
    with torch.no_grad():
        decoded = to_uint8(agent.vae.decode(torch.as_tensor(goals)))
    cc_rate = colour_match(env.dot_colour(decoded), held_colours).mean()
    replay_goals = agent.buffer.frames[skew.sample(64, np.random.default_rng(1))]  # RIG + Skew-Fit's kind of goal
    rig_rate = colour_match(env.dot_colour(replay_goals), held_colours).mean()
    print(f"goal colour matches the scene: CC-RIG + Skew-Fit {cc_rate:.3f}, p_skewed replay frames {rig_rate:.3f} "
          f"(chance 0.125)")
    assert cc_rate > rig_rate


def test_aggregate_density_of_z_t_finds_rare_states_and_reads_less_of_the_scene_looks():
    """`skewfit.density_estimate=aggregate` scores a frame by how many other frames' z_t lie near its own. On the same
    CC-VAE it skews rare dot positions up as the importance estimate does, and the scene (the dot's colour) explains
    less of the density among common frames: the likelihood reads an unusual colour's reconstruction error as rarity."""
    env = ColourPointImageEnv(image_size=32)
    episodes, rare = _scene_episodes(env, 48, common=9, rare=1, seed=0)
    scene = np.repeat(np.arange(48), 11)
    torch.manual_seed(0)
    agent = _cc_skew_agent(log_weight_clip=5.0)
    _fill(agent, episodes)
    agent.train_vae_on_replay(600)
    buf, shares = agent.buffer, {}
    for estimate in ("importance", "aggregate"):
        skew = skew_replay(agent.vae, buf.frames, buf.stored_frame_count(), -1.0, "gaussian", 4, 0,
                           np.random.default_rng(0), torch.Generator().manual_seed(0), 5.0,
                           context_rows=buf.stored_context_rows(), rows=buf.trainable_rows(), estimate=estimate)
        log_p, is_rare, in_scene = skew.log_density, rare[skew.slots], scene[skew.slots]
        common = ~is_rare
        scene_mean = np.array([log_p[common & (in_scene == k)].mean() for k in range(48)])
        shares[estimate] = scene_mean[in_scene[common]].var() / log_p[common].var()  # between-scene share
        rare_share = skew.probs[is_rare].sum()
        print(f"{estimate}: rare {rare.mean():.3f} of the replay, {rare_share:.3f} of p_skewed; "
              f"scene explains {shares[estimate]:.2f} of log p̂'s variance over common frames")
        assert log_p[is_rare].mean() < log_p[common].mean() and rare_share > 2 * rare.mean()
    assert shares["aggregate"] < shares["importance"]
    agent.config = dataclasses.replace(agent.config, skewfit=dataclasses.replace(agent.config.skewfit,
                                                                                 density_estimate="aggregate"))
    np.testing.assert_allclose(agent.refresh_skew().log_density, skew.log_density)  # the agent follows the config
    assert method_label(agent.config) == "CC-RIG + Skew-Fit (aggregate latent density)"  # the report's legend


def test_loop_runs_cc_rig_with_skewed_goals_on_the_schedule(monkeypatch, tmp_path):
    """`rig run --vae ccvae --goals skewfit` in process (a shortened schedule): the CC-VAE trains on p_skewed, goals
    and relabeled goals keep each transition's own zc, and a resumed run rebuilds p_skewed."""
    import rig_core.skewfit as sf

    monkeypatch.setitem(sf.SCHEDULES, 1, ((60, 30, 5, False), (math.inf, 30, 3, True)))
    overrides = dict(goals="skewfit", exploration_steps=60, eval_every=40, eval_goals=2, replay_capacity=1000,
                     td3={"hidden_sizes": [32, 32], "batch_size": 16, "updates_per_step": 1},
                     vae={"model": "ccvae", "latent_dim": 2, "context_dim": 3},
                     skewfit={"schedule": 1, "goal_source": "skewed", "density_samples": 2})
    cfg = default_config("point", total_steps=120, **overrides)
    result = run_rig(cfg, lambda: ColourPointImageEnv(image_size=48), tmp_path, checkpoint_every=60,
                     show_progress=False)
    agent = result.agent
    assert agent.vae_version == 4 and agent.skew is not None  # 30, 60 plain; 90, 120 on p_skewed
    batch, source = agent.sample_batch(64)
    obs = batch.obs.cpu().numpy()
    np.testing.assert_allclose(obs[:, 2:5], obs[:, 7:10], atol=1e-6)  # state's zc == goal's zc, any goal source
    assert (source == 2).any()
    report = write_report([result], tmp_path / "report")
    assert "goals.png" in report.read_text() and (tmp_path / "report" / "goals.png").stat().st_size > 0
    resumed = run_rig(default_config("point", total_steps=150, **overrides), lambda: ColourPointImageEnv(image_size=48),
                      tmp_path, resume=True, show_progress=False)
    assert resumed.agent.vae_version == 5 and resumed.agent.skew is not None


def test_skewed_goal_pool_travels_with_the_weights_and_the_episode_goal_comes_from_it():
    """The graph's episode node has no replay: the trainer's weights carry 256 p_skewed latents (z_t for the CC-VAE),
    and `imagined_goal` draws the episode's goal from them, with the zc of that episode's first frame."""
    env = ColourPointImageEnv(image_size=32)
    episodes, _ = _scene_episodes(env, 16, common=5, rare=1, seed=0)
    torch.manual_seed(0)
    agent = _cc_skew_agent(log_weight_clip=5.0)
    _fill(agent, episodes)
    assert agent.skewed_goal_pool() is None  # no p_skewed yet
    agent.train_vae_on_replay(20)
    agent.train_vae_on_replay(2, skewed=True)
    weights = load_policy_weights(policy_bytes(agent, 3))
    stored = agent.buffer.latents[: agent.buffer.stored_frame_count(), :2]
    assert weights.goal_pool.shape == (GOAL_POOL_SIZE, 2)
    assert (np.abs(weights.goal_pool[:, None] - stored[None]).max(-1) < 1e-6).any(1).all()
    scene = env.reset(seed=99, options={"colour": PALETTE[2]})[0]["image"]
    zc = agent.encode(scene[None], scene[None])[0][0, 2:]
    gen = torch.Generator().manual_seed(0)
    goals = np.stack([imagined_goal(weights, gen, scene) for _ in range(20)])
    np.testing.assert_allclose(goals[:, 2:], np.repeat(zc[None], 20, 0), atol=1e-5)
    assert (np.abs(goals[:, None, :2] - weights.goal_pool[None]).max(-1) < 1e-6).any(1).all()
    assert len(np.unique(goals[:, :2], axis=0)) > 1

    plain = RIGAgent(default_config("point", replay_capacity=1000, image_size=32, vae={"latent_dim": 2}))
    _fill(plain, [[frame for frame in e] for e in episodes[:2]])
    plain_weights = load_policy_weights(policy_bytes(plain, 1))  # RIG: no pool, goals from the prior
    assert plain_weights.goal_pool is None and imagined_goal(plain_weights, gen).shape == (2,)

    tensors = load(policy_bytes(agent, 4))
    tensors["goals.skewed"] = torch.zeros(8, 5)
    meta = {"format": POLICY_FORMAT, "version": "4", "config": json.dumps(agent.config.to_dict()), "vae_version": "2"}
    with pytest.raises(CheckpointError, match=r"goals\.skewed has shape"):
        load_policy_weights(save(tensors, metadata=meta))

"""CC-VAE (thesis §3.4.1, Eq. 6–7) and CC-RIG (§3.4.2): the loss falls on Sawyer images, goals drawn with a scene's
context keep its colour more often than β-VAE prior goals, the context replay, the agent's z̄ = (z, zc) and the
checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from point_env import ColourPointImageEnv
from rig_core.agent import RIGAgent
from rig_core.ccvae import ContextConditionedVAE, ccvae_loss_on, train_ccvae
from rig_core.checkpoint import load_checkpoint
from rig_core.config import default_config
from rig_core.context_replay import ContextReplayBuffer
from rig_core.errors import CheckpointError, ConfigError, DataError
from rig_core.images import to_uint8
from rig_core.loop import run_rig
from rig_core.scene_probe import colour_match
from rig_core.vae import ConvVAE, train_vae


def _pusher_episodes(n_episodes: int, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frames of random-action episodes on the multi-colour pusher and each frame's context row (its s0)."""
    import sawyer_sim

    env = sawyer_sim.make("color_pusher", seed=seed, max_episode_steps=steps)
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    for e in range(n_episodes):
        obs, _ = env.reset(seed=seed + e)
        start = len(frames)
        frames.append(obs["image"])
        for _ in range(steps):
            frames.append(env.step(rng.uniform(-1, 1, 2))[0]["image"])
        rows += [start] * (steps + 1)
    env.close()
    return np.stack(frames), np.array(rows)


def test_ccvae_loss_falls_on_sawyer_images():
    frames, rows = _pusher_episodes(6, 20)
    train = rows < rows[-1]  # the last episode is held out
    torch.manual_seed(0)
    vae = ContextConditionedVAE(48, 4, 8)
    held_out = ~train
    before = ccvae_loss_on(vae, frames[held_out], frames[rows[held_out]], beta=5.0)
    vae.init_output_bias(frames)
    optim = torch.optim.Adam(vae.parameters(), lr=1e-3)
    stats = train_ccvae(vae, frames, rows, 60, 32, 5.0, optim, np.random.default_rng(0), rows=np.flatnonzero(train))
    after = ccvae_loss_on(vae, frames[held_out], frames[rows[held_out]], beta=5.0)
    assert after < 0.8 * before
    assert {"vae/recon", "vae/kl", "vae/context_recon"} <= set(stats)


# Eight clearly different dot colours: every group of eight consecutive scenes holds each once (chance 1/8)
PALETTE = np.array([(230, 40, 40), (40, 220, 40), (50, 80, 240), (240, 230, 40), (230, 40, 230), (40, 230, 230),
                    (245, 245, 245), (250, 140, 20)], np.uint8)


def _colour_scenes(env: ColourPointImageEnv, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n scenes: first frame (dot at the centre), a frame with the dot elsewhere, and the dot's colour (0-1)."""
    contexts, frames, colours = [], [], []
    rng = np.random.default_rng(seed)
    for i in range(n):
        obs, _ = env.reset(seed=seed + i, options={"colour": PALETTE[i % len(PALETTE)]})
        contexts.append(obs["image"])
        frames.append(env.render_state(env.sample_goal_state(rng)))
        colours.append(env.colour / 255.0)
    return np.stack(contexts), np.stack(frames), np.stack(colours)


def test_goals_sampled_with_the_context_keep_its_colour_more_often_than_prior_goals():
    """Thesis §3.5.3 / App. B.1 on a multi-colour point scene: decoded goals z̄_g = (z_g ~ N(0, I), zc(s0)) against
    decoded samples of the β-VAE's fitted prior, both trained alike on the same frames; colours read off the pixels."""
    env = ColourPointImageEnv(image_size=32)
    contexts, states, _ = _colour_scenes(env, 400, seed=0)
    frames = np.concatenate([contexts, states])
    rows = np.concatenate([np.arange(400), np.arange(400)])  # each state's context: its scene's first frame
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cc, vae = ContextConditionedVAE(32, 2, 8), ConvVAE(32, 2)
    cc.init_output_bias(frames)
    vae.init_output_bias(frames)
    train_ccvae(cc, frames, rows, 450, 32, 5.0, torch.optim.Adam(cc.parameters(), lr=3e-3), rng)
    train_vae(vae, frames, 450, 32, 5.0, torch.optim.Adam(vae.parameters(), lr=3e-3), rng)
    vae.fit_prior(vae.encode(frames)[0])
    held_contexts, _, held_colours = _colour_scenes(env, 64, seed=10_000)  # scenes not trained on
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        cc_goals = to_uint8(cc.decode(torch.as_tensor(cc.sample_goals(cc.encode(held_contexts, held_contexts)[0], gen))))
        prior_goals = to_uint8(vae.decode(torch.as_tensor(vae.sample_prior(64, gen))))
    cc_rate = colour_match(env.dot_colour(cc_goals), held_colours).mean()
    prior_rate = colour_match(env.dot_colour(prior_goals), held_colours).mean()
    print(f"colour match of imagined goals: CC-VAE {cc_rate:.3f}, β-VAE prior {prior_rate:.3f} (chance 0.125)")
    assert cc_rate > prior_rate


def test_context_latent_is_standardised_over_the_scenes_and_decodes_as_before():
    """z̄'s zc is e0(s0) standardised over the fitted contexts; decode undoes it, so images and z_t do not change."""
    env = ColourPointImageEnv(image_size=32)
    contexts, states, _ = _colour_scenes(env, 32, seed=0)
    torch.manual_seed(0)
    cc = ContextConditionedVAE(32, 2, 8)
    with torch.no_grad():
        cc.to_context.bias.add_(7.0)  # e0 with a large output (norm ~20), as an unregularised one grows in training
    raw, _ = cc.encode(states, contexts)
    with torch.no_grad():
        images, firsts = cc.decode(torch.as_tensor(raw)), cc.decode_context(torch.as_tensor(raw[:, 2:]))
    cc.fit_context_scale(contexts)
    z, _ = cc.encode(states, contexts)
    np.testing.assert_allclose(z[:, :2], raw[:, :2], atol=1e-5)  # z_t is conditioned on e0's own zc
    np.testing.assert_allclose(z[:, 2:].mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z[:, 2:].std(0, ddof=1), 1.0, rtol=1e-3)
    assert np.linalg.norm(raw[:, 2:], axis=1).mean() > 5 * np.linalg.norm(z[:, 2:], axis=1).mean()
    with torch.no_grad():
        np.testing.assert_allclose(cc.decode(torch.as_tensor(z)).numpy(), images.numpy(), atol=1e-5)
        np.testing.assert_allclose(cc.decode_context(torch.as_tensor(z[:, 2:])).numpy(), firsts.numpy(), atol=1e-5)


def test_context_replay_knows_each_frames_first_frame_and_drops_episodes_cut_by_the_ring():
    buf = ContextReplayBuffer(capacity=10, image_size=8, action_dim=2, latent_dim=3)
    zero = np.zeros(3, np.float32)
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(14)]
    for episode in ((0, 1, 2, 3), (4, 5, 6, 7, 8, 9), (10, 11, 12, 13)):  # 14 frames into 10 slots
        buf.start_episode(frames[episode[0]], zero, zero)
        for f in episode[1:]:
            buf.add_step(np.zeros(2, np.float32), zero, frames[f], zero, zero)
    # 14 frames in 10 slots: slots 0-3 now hold frames 10-13 (the first episode is gone, whole)
    np.testing.assert_array_equal(buf.context_index[buf.slot(np.arange(10, 14))], [10] * 4)
    np.testing.assert_array_equal(buf.context_index[buf.slot(np.arange(4, 10))], [4] * 6)
    assert set(buf.trainable_rows()) == set(range(10))
    buf.start_episode(frames[0], zero, zero)  # frame 14 overwrites frame 4: the second episode's s0
    cut = buf.slot(np.arange(5, 9))
    assert not buf.valid[cut].any() and 4 not in set(buf.context_index[buf.trainable_rows()])
    seen = []
    buf.reencode(lambda f, c: (seen.append(c[:, 0, 0, 0].copy()) or np.zeros((len(f), 3)), np.zeros((len(f), 3))))
    np.testing.assert_array_equal(np.concatenate(seen)[buf.slot(np.arange(10, 14))], [10] * 4)


def _cc_config(**overrides):
    base = dict(total_steps=80, exploration_steps=40, eval_every=40, eval_goals=2, replay_capacity=1000,
                td3={"hidden_sizes": [32, 32], "batch_size": 16, "updates_per_step": 1},
                vae={"model": "ccvae", "latent_dim": 2, "context_dim": 3, "pretrain_batches": 5})
    base.update(overrides)
    return default_config("point", **base)


def test_cc_rig_runs_in_the_context_latent_space_and_round_trips_its_checkpoint(tmp_path):
    cfg = _cc_config()
    result = run_rig(cfg, lambda: ColourPointImageEnv(image_size=48), tmp_path, show_progress=False)
    agent = result.agent
    assert agent.latent_dim == 5 and agent.buffer.latents.shape[1] == 5 and result.curve
    # z̄ = (z, zc): zc is the same for every frame of an episode, and prior goals keep each transition's zc
    buf = agent.buffer
    first = buf.slot(np.arange(0, 21))
    np.testing.assert_allclose(buf.latents[first, 2:], np.repeat(buf.latents[first[:1], 2:], 21, 0), atol=1e-5)
    batch, source = agent.sample_batch(64)
    obs = batch.obs.cpu().numpy()
    np.testing.assert_allclose(obs[:, 2:5], obs[:, 7:10], atol=1e-6)  # state's zc == goal's zc, any goal source
    assert (source == 2).any()
    assert not torch.equal(agent.vae.context_std, torch.ones(3))  # zc standardised after the CC-VAE's training
    with pytest.raises(DataError, match="context"):
        agent.encode(buf.frames[:2])
    fresh = RIGAgent(cfg)
    load_checkpoint(fresh, tmp_path)
    for (k, a), b in zip(agent.vae.state_dict().items(), fresh.vae.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    np.testing.assert_array_equal(fresh.buffer.context_index[:buf.stored_frame_count()],
                                  buf.context_index[:buf.stored_frame_count()])
    np.testing.assert_array_equal(fresh.encode(buf.frames[:3], buf.frames[0])[0], agent.encode(buf.frames[:3], buf.frames[0])[0])
    plain = RIGAgent(default_config("point", replay_capacity=1000, vae={"latent_dim": 2}))
    with pytest.raises(CheckpointError):  # a CC-VAE checkpoint does not load into a β-VAE agent (shape-checked)
        load_checkpoint(plain, tmp_path)


def test_ccvae_config_is_checked():
    with pytest.raises(ConfigError, match=r"vae\.model"):
        default_config("point", vae={"model": "cvae"})
    with pytest.raises(ConfigError, match="goals=prior or goals=skewfit"):
        default_config("point", goals="env", vae={"model": "ccvae"})

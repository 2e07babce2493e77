"""The in-process RIG loop (RIG Alg. 1): random exploration → VAE pre-training → practice with
imagined goals (optionally training the VAE online) → evaluation on held-out goal images."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, save_checkpoint
from rig_core.config import RIGConfig
from rig_core.evaluate import EvalResult, evaluate, make_goal_set, random_policy
from rig_core.noise import OUNoise
from rig_core.progress import Progress


@dataclass
class RunResult:
    """What one seed's run produced: the learning curve and what the report shows."""

    config: RIGConfig
    curve: list[dict[str, float]]  # one row per evaluation: step, mean final distances
    random_baseline: dict[str, float]
    final_eval: EvalResult | None = None
    vae_frames: np.ndarray | None = None  # held-out frames for reconstructions
    timings: dict[str, float] = field(default_factory=dict)
    agent: RIGAgent | None = None


def _encoder(agent: RIGAgent) -> Callable[[np.ndarray], np.ndarray]:
    return lambda frames: agent.encode(frames)[0]


def run_rig(
    config: RIGConfig,
    make_env: Callable[[], Any],
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    show_progress: bool = True,
    device: str | torch.device = "cpu",
) -> RunResult:
    """Run RIG on one seed, training on `device`. With `resume`, continue from the checkpoint in `checkpoint_dir`."""
    config = config.validate()
    wall_start = time.monotonic()
    timings: dict[str, float] = {}
    env, eval_env = make_env(), make_env()
    agent = RIGAgent(config, action_dim=int(env.action_space.shape[0]), device=device)
    goals = make_goal_set(eval_env, config.eval_goals, config.eval_seed)
    progress_state: dict[str, Any] = {"step": 0, "curve": [], "random_baseline": {}}
    if resume and checkpoint_dir is not None:
        progress_state = load_checkpoint(agent, checkpoint_dir)
    step = int(progress_state["step"])
    curve: list[dict[str, float]] = list(progress_state["curve"])
    noise = OUNoise(agent.action_dim, config.exploration.ou_theta, config.exploration.ou_sigma, agent.rng)
    bar = Progress(config.total_steps, initial=step, desc=f"RIG {config.env} seed {config.seed}",
                   enabled=show_progress)

    def checkpoint() -> None:
        if checkpoint_dir is not None:
            save_checkpoint(agent, checkpoint_dir, {"step": step, "curve": curve,
                                                    "random_baseline": random_baseline})

    def run_episode(explore_only: bool) -> None:
        """One episode; during exploration actions are pure OU noise and nothing is trained."""
        nonlocal step
        obs, _ = env.reset(seed=config.seed if step == 0 else None)
        z, logvar = agent.encode(obs["image"])
        agent.buffer.start_episode(obs["image"], z[0], logvar[0])
        goal = agent.sample_goals(1)[0]
        noise.reset()
        done = False
        while not done and step < config.total_steps:
            action = np.clip(noise.sample(), -1, 1) if explore_only else agent.act(z[0], goal, noise.sample())
            obs, _, terminated, truncated, _ = env.step(action)
            z, logvar = agent.encode(obs["image"])
            agent.buffer.add_step(action, goal, obs["image"], z[0], logvar[0])
            step += 1
            done = terminated or truncated
            if not explore_only:
                if len(agent.buffer) >= config.td3.batch_size:
                    agent.train(config.td3.updates_per_step)
                if config.vae.online_every and step % config.vae.online_every == 0:
                    agent.train_vae_on_replay(config.vae.online_batches, on_batch=online_vae_progress)
                if step % config.eval_every == 0 or step == config.total_steps:
                    record_eval()
                if checkpoint_every and step % checkpoint_every == 0:
                    checkpoint()
            bar.update(1)

    def online_vae_progress(i: int, _stats: dict[str, float]) -> None:
        bar.update(0, f"online VAE {i + 1}/{config.vae.online_batches}")

    def record_eval() -> EvalResult:
        result = evaluate(eval_env, goals, agent.act, _encoder(agent), seed=config.eval_seed)
        curve.append({"step": step, **result.final})
        bar.update(0, "eval " + " ".join(f"{k}={v:.3f}" for k, v in result.final.items()))
        return result

    random_baseline: dict[str, float] = dict(progress_state.get("random_baseline", {}))
    t0 = time.monotonic()
    if step < config.exploration_steps:  # 1. random exploration
        bar.update(0, "exploring")
        while step < config.exploration_steps:
            run_episode(explore_only=True)
    timings["exploration_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    if agent.vae_version == 0:  # 2. VAE pre-training on the exploration frames
        n = config.vae.pretrain_batches
        agent.pretrain_vae(agent.buffer.frames[: agent.buffer.stored_frame_count()], n,
                           on_batch=lambda i, stats: bar.update(0, f"VAE pre-training {i + 1}/{n} "
                                                                   f"loss {stats['vae/loss']:.1f}"))
        random_baseline = evaluate(eval_env, goals, random_policy(config.seed), _encoder(agent),
                                   seed=config.eval_seed).final
        record_eval()
        checkpoint()
    timings["vae_pretrain_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    while step < config.total_steps:  # 3. practice with imagined goals
        run_episode(explore_only=False)
    timings["practice_s"] = time.monotonic() - t0
    bar.close()
    final_eval = evaluate(eval_env, goals, agent.act, _encoder(agent), seed=config.eval_seed)
    if not curve or curve[-1]["step"] != step:
        curve.append({"step": step, **final_eval.final})
    checkpoint()
    timings["wall_clock_s"] = time.monotonic() - wall_start
    env.close()
    eval_env.close()
    return RunResult(config, curve, random_baseline, final_eval, goals.images, timings, agent)

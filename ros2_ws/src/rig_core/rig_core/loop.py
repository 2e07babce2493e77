"""The in-process RIG loop (RIG Alg. 1): random exploration → VAE pre-training → practice with
imagined goals (optionally training the VAE online) → evaluation on held-out goal images.

With goals=skewfit (thesis Alg. 10) the VAE trains online from the first steps on Skew-Fit's schedule
(App. C.3.5) instead of being pre-trained, and goals come from the skewed replay distribution."""

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
from rig_core.progress import Phase, Progress
from rig_core.skewfit import skew_active, vae_training_due

COVERAGE_SAMPLES = 2000  # replay states drawn per goal-coverage measurement
COVERAGE_REFERENCE = 10_000  # replay states a prior goal is matched against (nearest latent)
ENV_GOAL_FRAMES = 2000  # goals=env: goal states drawn from the env and rendered once per run


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


def context_encoder(agent: RIGAgent) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """For `evaluate`: the CC-VAE encodes with the episode's first frame (thesis §3.4.2); None for the VAE."""
    return (lambda frames, s0: agent.encode(frames, s0)[0]) if agent.contextual else None


def plan_phases(config: RIGConfig, step: int, vae_pretrained: bool, episode_steps: int | None) -> list[Phase]:
    """The work `run_rig` has left from env step `step`, per phase in its own unit. An evaluation episode is
    estimated at `episode_steps` exploration steps until evaluations are measured."""
    practice_from = max(step, config.exploration_steps)
    practice_steps = range(practice_from + 1, config.total_steps + 1)
    evals = sum(1 for s in practice_steps if s % config.eval_every == 0 or s == config.total_steps)
    evals += (0 if vae_pretrained else 2) + 1  # random baseline and first eval after pre-training; final eval
    online = sum(1 for s in practice_steps if s % config.vae.online_every == 0) if config.vae.online_every else 0
    online_batches = online * config.vae.online_batches
    if config.goals == "skewfit":  # Skew-Fit trains its VAE on its own schedule from the first step
        online_batches += sum(due[0] for s in range(step + 1, config.total_steps + 1)
                              if (due := vae_training_due(config.skewfit.schedule, s)))
    return [
        Phase("exploration", "env steps", config.exploration_steps, min(step, config.exploration_steps)),
        Phase("VAE pre-training", "VAE batches", 0 if vae_pretrained else config.vae.pretrain_batches),
        Phase("practice", "env steps", config.total_steps - config.exploration_steps,
              max(step - config.exploration_steps, 0)),
        Phase("online VAE", "VAE batches", online_batches, estimate_from="VAE pre-training"),
        Phase("evaluation", "eval episodes", evals * config.eval_goals, estimate_from="exploration",
              estimate_factor=1 / episode_steps if episode_steps else 0.0),
    ]


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
    if config.goals == "env":  # the same draws on resume; the eval goals come from eval_seed's own stream
        agent.set_goal_frames(make_goal_set(env, ENV_GOAL_FRAMES, config.seed + 1_000_003).images)
    progress_state: dict[str, Any] = {"step": 0, "curve": [], "random_baseline": {}}
    if resume and checkpoint_dir is not None:
        progress_state = load_checkpoint(agent, checkpoint_dir)
    step = int(progress_state["step"])
    curve: list[dict[str, float]] = list(progress_state["curve"])
    coverage = _Coverage(env, config.replay_capacity, checkpoint_dir)
    if resume and checkpoint_dir is not None:
        coverage.load()
        if config.goals == "skewfit" and skew_active(config.skewfit.schedule, step) and len(agent.buffer):
            agent.refresh_skew()
    noise = OUNoise(agent.action_dim, config.exploration.ou_theta, config.exploration.ou_sigma, agent.rng)
    episode_steps = getattr(eval_env.unwrapped, "max_episode_steps", None)
    bar = Progress(plan_phases(config, step, agent.vae_version > 0, episode_steps),
                   desc=f"RIG {config.env} seed {config.seed}", enabled=show_progress)
    bar.note(f"{bar.desc}: {bar.plan()}")

    def checkpoint() -> None:
        if checkpoint_dir is not None:
            save_checkpoint(agent, checkpoint_dir, {"step": step, "curve": curve,
                                                    "random_baseline": random_baseline})
            coverage.save()

    def run_episode(explore_only: bool) -> None:
        """One episode; during exploration actions are pure OU noise and nothing is trained."""
        nonlocal step
        obs, _ = env.reset(seed=config.seed if step == 0 else None)
        context = obs["image"]  # s0: the CC-VAE's context for this episode (thesis §3.4.2); the VAE ignores it
        z, logvar = agent.encode(obs["image"], context)
        agent.buffer.start_episode(obs["image"], z[0], logvar[0])
        coverage.record(agent.buffer, obs["state"])
        goal = agent.sample_goals(1, z)[0]
        noise.reset()
        done = False
        while not done and step < config.total_steps:
            action = np.clip(noise.sample(), -1, 1) if explore_only else agent.act(z[0], goal, noise.sample())
            obs, _, terminated, truncated, _ = env.step(action)
            z, logvar = agent.encode(obs["image"], context)
            agent.buffer.add_step(action, goal, obs["image"], z[0], logvar[0])
            coverage.record(agent.buffer, obs["state"])
            step += 1
            done = terminated or truncated
            if config.goals == "skewfit" and (due := vae_training_due(config.skewfit.schedule, step)):
                n_batches, skewed = due  # Skew-Fit's online VAE cadence (App. C.3.5), exploration included
                with bar.phase("online VAE"):
                    agent.train_vae_on_replay(n_batches, on_batch=lambda _i, _s: bar.advance(), skewed=skewed)
            if not explore_only:
                if len(agent.buffer) >= config.td3.batch_size:
                    agent.train(config.td3.updates_per_step)
                if config.vae.online_every and step % config.vae.online_every == 0:
                    with bar.phase("online VAE"):
                        agent.train_vae_on_replay(config.vae.online_batches, on_batch=lambda _i, _s: bar.advance())
                if step % config.eval_every == 0 or step == config.total_steps:
                    record_eval()
            if checkpoint_every and step % checkpoint_every == 0 and (not explore_only or config.goals == "skewfit"):
                checkpoint()  # Skew-Fit trains its VAE during exploration: keep that work too
            bar.advance()

    def evaluate_policy(policy: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> EvalResult:
        with bar.phase("evaluation"):
            return evaluate(eval_env, goals, policy, _encoder(agent), seed=config.eval_seed, on_episode=bar.advance,
                            context_encode=context_encoder(agent))

    def record_eval() -> EvalResult:
        result = evaluate_policy(agent.act)
        curve.append({"step": step, **result.final, **coverage.measure(agent)})
        distances = " ".join(f"{k}={v:.3f}" for k, v in result.final.items())
        bar.note(f"evaluation at step {step}: {distances}")
        bar.status = "last eval " + distances
        return result

    random_baseline: dict[str, float] = dict(progress_state.get("random_baseline", {}))
    t0 = time.monotonic()
    if step < config.exploration_steps:  # 1. random exploration
        bar.start("exploration")
        while step < config.exploration_steps:
            run_episode(explore_only=True)
    timings["exploration_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    if not random_baseline:  # 2. VAE pre-training on the exploration frames (Skew-Fit: already trained online)
        if agent.vae_version == 0:
            bar.start("VAE pre-training")
            agent.train_vae_on_replay(config.vae.pretrain_batches,  # the VAE: pretrain_vae on the replay's frames
                                      on_batch=lambda _i, stats: bar.advance(1, f"loss {stats['vae/loss']:.1f}"))
        random_baseline = evaluate_policy(random_policy(config.seed, agent.action_dim)).final
        bar.note("random policy: " + " ".join(f"{k}={v:.3f}" for k, v in random_baseline.items()))
        record_eval()
        checkpoint()
    timings["vae_pretrain_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    bar.start("practice", bar.status)
    while step < config.total_steps:  # 3. practice with imagined goals
        run_episode(explore_only=False)
    timings["practice_s"] = time.monotonic() - t0
    bar.start("evaluation", bar.status)
    final_eval = evaluate_policy(agent.act)
    bar.close()
    if not curve or curve[-1]["step"] != step:
        curve.append({"step": step, **final_eval.final})
    checkpoint()
    timings["wall_clock_s"] = time.monotonic() - wall_start
    env.close()
    eval_env.close()
    return RunResult(config, curve, random_baseline, final_eval, goals.images, timings, agent)


class _Coverage:
    """Ground-truth states of the replay frames (sim only, for measuring), and goal coverage from them.

    Coverage is the share of replay states proposed as goals whose object moved from its start
    (`env.objects_moved`): states drawn uniformly (what RIG's VAE and prior are fitted to) and, with Skew-Fit,
    drawn from p_skewed by SIR, and prior goals read as their nearest replay state. Envs without objects record
    nothing.
    """

    def __init__(self, env: Any, capacity: int, checkpoint_dir: str | Path | None) -> None:
        self.moved = getattr(env.unwrapped, "objects_moved", None)
        dim = int(env.observation_space["state"].shape[0])
        self.states = np.zeros((capacity, dim), np.float32) if self.moved is not None else None
        self.path = Path(checkpoint_dir) / "states.npy" if checkpoint_dir is not None else None

    def record(self, buffer: Any, state: np.ndarray) -> None:
        if self.states is not None:
            self.states[int(buffer.slot(buffer.total_frames - 1))] = state

    def measure(self, agent: RIGAgent) -> dict[str, float]:
        n = agent.buffer.stored_frame_count()
        if self.states is None or n == 0:
            return {}
        rng = np.random.default_rng(agent.buffer.total_frames)  # its own stream: measuring changes no run
        out = {"coverage_uniform": float(self.moved(self.states[rng.integers(0, n, COVERAGE_SAMPLES)]).mean())}
        if not agent.contextual:
            out["coverage_prior"] = self._prior_coverage(agent, n, rng)
        if agent.skew is not None:
            out["coverage_skewed"] = float(self.moved(self.states[agent.skew.sample(COVERAGE_SAMPLES, rng)]).mean())
            out["skew_ess"] = agent.skew.effective_sample_size()
        return out

    def _prior_coverage(self, agent: RIGAgent, n: int, rng: np.random.Generator) -> float:
        """Share of prior goals whose nearest replay latent (of up to COVERAGE_REFERENCE) is a moved-object state:
        imagined goals have no simulator state, so each is read as the replay state its latent lies closest to."""
        generator = torch.Generator().manual_seed(int(agent.buffer.total_frames))  # its own stream, as `rng`
        goals = torch.as_tensor(agent.vae.sample_prior(COVERAGE_SAMPLES, generator))
        slots = np.sort(rng.choice(n, size=min(n, COVERAGE_REFERENCE), replace=False))
        nearest = torch.cdist(goals, torch.as_tensor(agent.buffer.latents[slots])).argmin(1).numpy()
        return float(self.moved(self.states[slots[nearest]]).mean())

    def save(self) -> None:
        if self.states is not None and self.path is not None:
            tmp = self.path.with_suffix(".tmp.npy")
            np.save(tmp, self.states, allow_pickle=False)
            tmp.replace(self.path)

    def load(self) -> None:
        if self.states is not None and self.path is not None and self.path.is_file():
            saved = np.load(self.path, allow_pickle=False)
            if saved.shape == self.states.shape:
                self.states[:] = saved

"""TD3 gradient steps per second: our learner vs stable-baselines3 TD3, side by side in one run.

Same networks ([400, 300] actor and twin critics), batch 128, observation = latent ⊕ goal (2 × 16),
2-D actions, Table 1 settings. Ours is timed through `RIGAgent.train`, i.e. including replay
sampling, goal relabeling and reward recomputation; SB3 through `model.train`, including its
replay sampling. Rounds alternate between the two so machine noise hits both alike. With `--device cuda`
both train on the GPU (ours: the replay stays on the CPU and each batch is copied over, as in training).

    .venv/bin/python benchmarks/bench_td3.py [--steps 300] [--rounds 3] [--threads N] [--device cpu|cuda|cuda:N]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from rig_core.agent import RIGAgent
from rig_core.config import default_config
from rig_core.device import DEVICE_HELP, describe_device, device_or_exit, synchronize

LATENT = 16


def our_learner(seed: int, device: torch.device) -> RIGAgent:
    cfg = default_config("pusher", seed=seed, image_size=48, replay_capacity=20_000, vae={"latent_dim": LATENT})
    agent = RIGAgent(cfg, device=device)
    rng = np.random.default_rng(seed)
    frame = np.zeros((48, 48, 3), np.uint8)
    zeros = np.zeros(LATENT, np.float32)
    for _ in range(100):  # 100 episodes of 100 steps: 10K transitions
        agent.buffer.start_episode(frame, rng.normal(size=LATENT).astype(np.float32), zeros)
        for _ in range(100):
            agent.buffer.add_step(rng.uniform(-1, 1, 2), rng.normal(size=LATENT), frame,
                                  rng.normal(size=LATENT).astype(np.float32), zeros)
    return agent


class _LatentGoalSpaces(gym.Env):
    """Only the spaces SB3 needs to build its networks (observation = latent ⊕ goal)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2 * LATENT,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2 * LATENT, np.float32), {}

    def step(self, action):
        return np.zeros(2 * LATENT, np.float32), 0.0, False, False, {}


def sb3_learner(seed: int, device: torch.device):
    from stable_baselines3 import TD3

    model = TD3("MlpPolicy", _LatentGoalSpaces(), learning_rate=1e-3, batch_size=128, tau=1e-2, gamma=0.99, policy_delay=2,
                target_policy_noise=0.2, target_noise_clip=0.5, buffer_size=20_000, learning_starts=0,
                policy_kwargs={"net_arch": [400, 300]}, seed=seed, device=device)
    rng = np.random.default_rng(seed)
    buf = model.replay_buffer
    for _ in range(10_000):
        obs = rng.normal(size=(1, 2 * LATENT)).astype(np.float32)
        buf.add(obs, obs, rng.uniform(-1, 1, (1, 2)).astype(np.float32), np.array([-1.0]), np.array([False]), [{}])
    model._setup_learn(total_timesteps=1)  # logger and progress state that train() needs
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="gradient steps per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help=DEVICE_HELP)
    args = parser.parse_args()
    device = device_or_exit(args.device, "bench_td3")
    torch.set_num_threads(args.threads)
    ours, sb3 = our_learner(0, device), sb3_learner(0, device)
    ours.train(20)
    sb3.train(gradient_steps=20, batch_size=128)
    rates: dict[str, list[float]] = {"ours": [], "sb3": []}
    for _ in range(args.rounds):
        synchronize(device)
        t = time.perf_counter()
        ours.train(args.steps)
        synchronize(device)
        rates["ours"].append(args.steps / (time.perf_counter() - t))
        t = time.perf_counter()
        sb3.train(gradient_steps=args.steps, batch_size=128)
        synchronize(device)
        rates["sb3"].append(args.steps / (time.perf_counter() - t))
    ours_rate, sb3_rate = np.median(rates["ours"]), np.median(rates["sb3"])
    print(f"device: {describe_device(device)}")
    print(f"torch threads: {args.threads}; {args.rounds} alternating rounds of {args.steps} gradient steps")
    print(f"{'learner':<28}{'grad steps/s (median)':>24}{'rounds':>30}")
    print(f"{'rig_core TD3 (+relabeling)':<28}{ours_rate:>24.1f}{[round(r) for r in rates['ours']]!s:>30}")
    print(f"{'stable-baselines3 TD3':<28}{sb3_rate:>24.1f}{[round(r) for r in rates['sb3']]!s:>30}")
    print(f"ratio ours / sb3: {ours_rate / sb3_rate:.2f}x")


if __name__ == "__main__":
    main()

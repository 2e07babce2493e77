"""Replay memory per 100K steps at 48×48 (vs stable-baselines3's ReplayBuffer holding the same
observations) and β-VAE training / encoding throughput on `--device` (frames stay uint8 on the CPU and
each batch goes to the device, as in training; encoding includes copying the latents back).

    .venv/bin/python benchmarks/bench_memory_vae.py [--steps 100000] [--threads N] [--device cpu|cuda|cuda:N]
"""

from __future__ import annotations

import argparse
import resource
import time

import gymnasium as gym
import numpy as np
import torch

from rig_core.config import VAEConfig
from rig_core.device import DEVICE_HELP, describe_device, device_or_exit, synchronize
from rig_core.replay import ImageReplayBuffer
from rig_core.vae import ConvVAE, train_vae

SIZE, LATENT, HORIZON = 48, 16, 100


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is in KiB on Linux


def fill_ours(steps: int) -> ImageReplayBuffer:
    buf = ImageReplayBuffer(steps + steps // HORIZON, SIZE, 2, LATENT)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    z = np.zeros(LATENT, np.float32)
    done = 0
    while done < steps:
        buf.start_episode(frame, z, z)
        for _ in range(min(HORIZON, steps - done)):
            buf.add_step(np.zeros(2, np.float32), z, frame, z, z)
            done += 1
    return buf


def sb3_bytes(steps: int) -> int:
    """Bytes SB3's ReplayBuffer allocates for the same image observations (obs and next_obs)."""
    from stable_baselines3.common.buffers import ReplayBuffer

    obs_space = gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
    buf = ReplayBuffer(steps, obs_space, gym.spaces.Box(-1, 1, (2,), np.float32), device="cpu",
                       optimize_memory_usage=False)
    arrays = (buf.observations, buf.next_observations, buf.actions, buf.rewards, buf.dones, buf.timeouts)
    return sum(a.nbytes for a in arrays)


def vae_rates(n_batches: int, device: torch.device) -> tuple[float, float]:
    cfg = VAEConfig()
    vae = ConvVAE(SIZE, LATENT).to(device)
    frames = np.random.default_rng(0).integers(0, 255, (2048, SIZE, SIZE, 3), dtype=np.uint8)
    optim = torch.optim.Adam(vae.parameters(), lr=cfg.lr)
    train_vae(vae, frames, 5, cfg.batch_size, cfg.beta, optim, np.random.default_rng(0))
    vae.encode(frames)  # warm-up (kernel selection on a GPU)
    synchronize(device)
    t = time.perf_counter()
    train_vae(vae, frames, n_batches, cfg.batch_size, cfg.beta, optim, np.random.default_rng(0))
    synchronize(device)
    train_rate = n_batches * cfg.batch_size / (time.perf_counter() - t)
    t = time.perf_counter()
    vae.encode(frames)  # returns CPU arrays: includes the copy back
    encode_rate = len(frames) / (time.perf_counter() - t)
    return train_rate, encode_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--vae-batches", type=int, default=100)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help=DEVICE_HELP)
    args = parser.parse_args()
    device = device_or_exit(args.device, "bench_memory_vae")
    torch.set_num_threads(args.threads)
    print(f"device: {describe_device(device)}")
    before = peak_rss_gb()
    buf = fill_ours(args.steps)
    ours_gb, rss_gb = buf.nbytes() / 1e9, peak_rss_gb() - before
    peer_gb = sb3_bytes(args.steps) / 1e9
    print(f"replay, {args.steps} steps of {SIZE}x{SIZE} RGB (episodes of {HORIZON}):")
    print(f"  rig_core ImageReplayBuffer   {ours_gb:6.3f} GB allocated, peak RSS growth {rss_gb:6.3f} GB "
          f"(target <= 0.75 GB per 100K steps)")
    print(f"  stable-baselines3 ReplayBuffer {peer_gb:6.3f} GB allocated (obs + next_obs)")
    print(f"  ratio sb3 / ours: {peer_gb / ours_gb:.2f}x")
    train_rate, encode_rate = vae_rates(args.vae_batches, device)
    print(f"β-VAE on {device} (torch threads {args.threads}): training {train_rate:.0f} images/s (batch 64), "
          f"encoding {encode_rate:.0f} images/s")


if __name__ == "__main__":
    main()

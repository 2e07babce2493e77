"""offline_train: bags → β-VAE → latents → AWAC / IQL / TD3 + BC (Q-filter) → policy weights + report.

    offline_train bags/demo1 bags/demo2 --algo iql --out runs/offline_iql [--eval-env reacher] [--device cuda]

Writes into `--out` (built in a temporary directory and renamed at the end, so a failure leaves nothing):
  policy.safetensors   actor + VAE in `checkpoint.policy_bytes` format: the policy node loads it as-is
  offline.safetensors  every network of the algorithm + VAE (tensors only), for fine-tuning
  report.json          dataset, settings, losses, optional sim evaluation;  losses.png  the loss curves
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from rig_core.agent import RIGAgent
from rig_core.checkpoint import policy_bytes
from rig_core.config import default_config
from rig_core.device import DEVICE_HELP, parse_device
from rig_core.errors import RigError
from rig_core.offline import ALGORITHMS, learner_config_json
from rig_core.policy_weights import PolicyWeights, load_policy_weights
from rig_trainer.bag_dataset import build_dataset, load_steps
from rig_trainer.bags import EXPERIENCE_TOPIC


def _policy_hidden(algo: str, cfg: object) -> tuple[int, ...]:
    return cfg.policy_hidden_sizes if algo == "awac" else cfg.hidden_sizes


def evaluate_in_sim(weights: PolicyWeights | None, env_name: str, episodes: int, seed: int,
                    image_size: int) -> float:
    """Mean final hand distance to held-out goal images (m); `weights` None runs a uniform random policy."""
    import sawyer_sim
    from rig_core.evaluate import evaluate, make_goal_set

    env = sawyer_sim.make(env_name, image_size=image_size, seed=seed)
    rng = np.random.default_rng(seed)
    goals = make_goal_set(env, episodes, seed + 1000)
    if weights is None:
        result = evaluate(env, goals, lambda z, g: rng.uniform(-1, 1, 2), lambda f: np.zeros((len(f), 1)), 0, seed=seed)
    else:
        result = evaluate(env, goals, weights.act, lambda f: weights.vae.encode(f)[0], 0, seed=seed)
    env.close()
    return result.final["ee_distance"]


def _plot(curves: dict[str, list[tuple[int, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3), squeeze=False)
    for ax, (name, points) in zip(axes[0], curves.items(), strict=True):
        if points:
            x, y = zip(*points, strict=True)
            ax.plot(x, y)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def train(args: argparse.Namespace, out: Path) -> dict:
    """The whole pipeline into directory `out`, training on `args.device`; returns the report."""
    device = parse_device(args.device)
    t0 = time.perf_counter()
    steps = load_steps(args.bags, args.image_size, args.topic)
    action_dim = steps.actions.shape[1]
    algo_cls, cfg_cls = ALGORITHMS[args.algo]
    overrides: dict = {"batch_size": args.batch_size} if args.batch_size else {}
    if args.hidden:
        keys = ("policy_hidden_sizes", "critic_hidden_sizes") if args.algo == "awac" else ("hidden_sizes",)
        overrides |= dict.fromkeys(keys, tuple(args.hidden))
    algo_cfg = cfg_cls(**overrides)
    config = default_config(args.env, image_size=args.image_size, seed=args.seed, replay_capacity=1000,
                            vae={"latent_dim": args.latent_dim, "pretrain_batches": args.vae_batches})
    config = dataclasses.replace(config, td3=dataclasses.replace(config.td3, hidden_sizes=_policy_hidden(args.algo, algo_cfg)))
    agent = RIGAgent(config, action_dim, device=device)
    curves: dict[str, list[tuple[int, float]]] = {"vae/loss": []}
    every = max(1, args.vae_batches // 100)
    agent.pretrain_vae(steps.images, args.vae_batches,
                       lambda i, s: curves["vae/loss"].append((i, float(s["vae/loss"]))) if i % every == 0 else None)
    t_vae = time.perf_counter()
    dataset = build_dataset(steps, lambda frames: agent.encode(frames)[0])
    learner = algo_cls(2 * config.vae.latent_dim, action_dim, algo_cfg, seed=args.seed, device=device)
    rng = np.random.default_rng(args.seed)
    demo_batch = getattr(algo_cfg, "demo_batch_size", 0)
    every = max(1, args.steps // 200)
    for i in range(args.steps):
        batch = dataset.sample(algo_cfg.batch_size, rng, "future", demo_batch_size=demo_batch,
                               reward_scale=algo_cfg.reward_scale, device=device)
        stats = learner.update(batch)
        if i % every == 0 or i == args.steps - 1:
            for key, value in stats.items():
                curves.setdefault(key, []).append((i, float(value)))
    t_rl = time.perf_counter()
    agent.learner = learner  # policy_bytes exports its deterministic actor (a Gaussian policy's mean)
    data = policy_bytes(agent, version=1)  # CPU tensors, whatever the training device
    weights = load_policy_weights(data)  # exactly what the policy node will do with the file (on the CPU)
    probe = np.concatenate([dataset.latents[:8], dataset.goals[:8]], 1)
    if not np.allclose(weights.actor(torch.from_numpy(probe)).detach().numpy(), learner.act(probe), atol=1e-5):
        raise RigError("exported policy does not reproduce the trained actor")
    (out / "policy.safetensors").write_bytes(data)
    tensors = {f"vae.{k}": v.detach().cpu().contiguous() for k, v in agent.vae.state_dict().items()}
    for name, module in learner.modules().items():
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
    save_file(tensors, str(out / "offline.safetensors"),
              metadata={"format": "rig-ros2/offline/1", "algo": args.algo, "config": json.dumps(config.to_dict()),
                        "algo_config": learner_config_json(learner)})
    report = {
        "bags": [str(b) for b in args.bags], "algo": args.algo, "steps": args.steps, "vae_batches": args.vae_batches,
        "device": str(device),
        "dataset": {"steps": len(steps), "transitions": len(dataset), "episodes": dataset.n_episodes,
                    "demo_transitions": dataset.n_demo_transitions, "image_size": args.image_size,
                    "action_dim": action_dim},
        "final": {k: v[-1][1] for k, v in curves.items() if v},
        "seconds": {"load_and_vae": round(t_vae - t0, 2), "offline_rl": round(t_rl - t_vae, 2)},
    }
    if args.eval_env:
        report["eval"] = {"env": args.eval_env, "episodes": args.eval_episodes,
                          "policy_final_ee_distance": evaluate_in_sim(weights, args.eval_env, args.eval_episodes,
                                                                      args.seed, args.image_size),
                          "random_final_ee_distance": evaluate_in_sim(None, args.eval_env, args.eval_episodes,
                                                                      args.seed, args.image_size)}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    _plot(curves, out / "losses.png")
    return report


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="offline_train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("bags", nargs="+", type=Path, help="bag directories (recorded by bag_recorder)")
    parser.add_argument("--out", type=Path, required=True, help="output directory (must not exist)")
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default="awac")
    parser.add_argument("--steps", type=int, default=25_000, help="offline gradient steps (thesis: 25K)")
    parser.add_argument("--vae-batches", type=int, default=2000, help="VAE training batches")
    parser.add_argument("--batch-size", type=int, default=0, help="RL batch size (0: the algorithm's default)")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden layer sizes of all networks (default: the paper's)")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=48, help="frames are resized to S x S")
    parser.add_argument("--env", default="reacher", help="rig_core config defaults to start from")
    parser.add_argument("--topic", default=EXPERIENCE_TOPIC, help="ExperienceStep topic in the bags")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", help=DEVICE_HELP)
    parser.add_argument("--eval-env", choices=["reacher", "pusher", "multi_pusher"],
                        help="evaluate the policy and a random policy in sawyer_sim afterwards")
    parser.add_argument("--eval-episodes", type=int, default=10)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out: Path = args.out
    try:
        parse_device(args.device)  # checked before anything is read or written
    except RigError as err:
        print(f"offline_train: {err}", file=sys.stderr)
        return 2
    if out.exists():
        print(f"offline_train: {out} exists; choose a new --out", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        report = train(args, tmp)
        os.replace(tmp, out)
    except (RigError, ValueError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"offline_train: {err}", file=sys.stderr)
        return 1
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(json.dumps({"out": str(out), **report.get("final", {}), **report.get("eval", {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

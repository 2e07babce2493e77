"""Offline pre-training then online fine-tuning (thesis ch. 6–7) vs RIG from scratch, in-process in sawyer_sim.

    python benchmarks/bench_offline_finetune.py --env reacher --online-steps 300 \
        --out benchmarks/results/offline_finetune_reacher.json [--device cpu|cuda|cuda:N]

1. `--demos` scripted demos (rig_core.scripted, the controller scripted_teleop_node uses), goal = final frame.
2. One β-VAE trained on the demo frames; latent trajectories → `TrajectoryDataset` (relabeled goals).
3. AWAC, IQL and TD3+BC, each `--offline-steps` gradient steps → evaluated on held-out goal images.
4. Each fine-tuned online for `--online-steps` env steps (rig_core.offline.finetune): the algorithm goes on with
   its own update and every pre-trained network (`--online-learner td3`: RIG's TD3 from the offline actor and
   critic instead), demos pinned and flagged in the replay, goals relabeled as offline (`--relabel future`;
   `rig` mixes in imagined goals), each algorithm's exploration (AWAC samples π, IQL σ = 0.03, TD3+BC
   10 % random actions + ±10 % uniform noise)
   → evaluated again.
5. RIG from scratch (`rig_core.loop.run_rig`) for the same number of env steps, same networks and goals.
Final distance is the mean final hand (reacher) / puck (pushers) distance to the held-out goals (m).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

import sawyer_sim
from rig_core.agent import RIGAgent
from rig_core.config import default_config
from rig_core.device import DEVICE_HELP, describe_device, device_or_exit
from rig_core.evaluate import evaluate, make_goal_set, random_policy
from rig_core.loop import run_rig
from rig_core.noise import OUNoise
from rig_core.offline import ALGORITHMS, TrajectoryDataset, learner_config_json
from rig_core.offline.finetune import add_demo_episodes, explore, start_from_offline
from rig_core.scripted import scripted_action

Episode = tuple[np.ndarray, np.ndarray, np.ndarray]


def collect_demos(env, n: int, seed: int, noise: float) -> list[Episode]:
    """`n` scripted episodes: (frames T+1, actions T, is_demo T)."""
    rng = np.random.default_rng(seed)
    episodes = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        frames, actions, done = [obs["image"]], [], False
        while not done:
            action = np.clip(scripted_action(obs["state"], obs["goal_state"]) + rng.normal(0, noise, 2), -1, 1)
            obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
            frames.append(obs["image"])
            actions.append(action)
            done = terminated or truncated
        episodes.append((np.stack(frames), np.asarray(actions, np.float32), np.ones(len(actions), bool)))
    return episodes


SUCCESS_M = 0.05  # a goal counts as reached when its final distance is below this


def score(result_final: dict[str, float], env_name: str) -> float:
    key = "ee_distance" if env_name == "reacher" else "puck_distance"
    return round(float(result_final[key]), 4)


def success(result, env_name: str) -> float:
    """Fraction of held-out goals whose final hand (reacher) / puck (pushers) distance is below SUCCESS_M."""
    key = "ee_distance" if env_name == "reacher" else "puck_distance"
    return round(float(np.mean(np.asarray(result.per_goal[key]) < SUCCESS_M)), 3)


def online(agent: RIGAgent, env, steps: int, seed: int) -> None:
    """RIG's practice phase (loop.run_rig step 3) for `steps` env steps from the agent as it is."""
    cfg = agent.config
    noise = OUNoise(agent.action_dim, cfg.exploration.ou_theta, cfg.exploration.ou_sigma, agent.rng)
    step = 0
    while step < steps:
        obs, _ = env.reset(seed=seed if step == 0 else None)
        z, logvar = agent.encode(obs["image"])
        agent.buffer.start_episode(obs["image"], z[0], logvar[0])
        goal, done = agent.sample_goals(1)[0], False
        noise.reset()
        while not done and step < steps:
            action = agent.act(z[0], goal)
            own = explore(agent.learner, action, agent.rng)
            action = np.clip(action + noise.sample(), -1, 1).astype(np.float32) if own is None else own
            obs, _, terminated, truncated, _ = env.step(action)
            z, logvar = agent.encode(obs["image"])
            agent.buffer.add_step(action, goal, obs["image"], z[0], logvar[0])
            step, done = step + 1, terminated or truncated
            if len(agent.buffer) >= cfg.td3.batch_size:
                agent.train(cfg.td3.updates_per_step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="reacher", choices=["reacher", "pusher", "multi_pusher"])
    parser.add_argument("--demos", type=int, default=20)
    parser.add_argument("--offline-steps", type=int, default=2000)
    parser.add_argument("--online-steps", type=int, default=500, help="N: online env steps (and RIG's total)")
    parser.add_argument("--vae-batches", type=int, default=500)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--updates-per-step", type=int, default=1)
    parser.add_argument("--eval-goals", type=int, default=8)
    parser.add_argument("--algos", nargs="+", default=["awac", "iql", "td3_bc"], choices=sorted(ALGORITHMS))
    parser.add_argument("--online-learner", choices=["own", "td3"], default="own",
                        help="online: each algorithm's own update (default) or RIG's TD3 from its actor/critic")
    parser.add_argument("--relabel", choices=["none", "future", "vae", "rig"], default="future",
                        help="online goal relabeling of the fine-tuned methods (offline: future; RIG from scratch: rig)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--device", default="cpu", help=DEVICE_HELP)
    args = parser.parse_args()
    device = device_or_exit(args.device, "bench_offline_finetune")
    torch.set_num_threads(args.threads)
    print(f"device: {describe_device(device)}", flush=True)
    hidden = tuple(args.hidden)
    config = default_config(args.env, seed=args.seed, total_steps=max(args.online_steps, 2), eval_goals=args.eval_goals,
                            relabel=args.relabel,
                            exploration_steps=min(default_config(args.env).exploration_steps, args.online_steps // 2),
                            eval_every=max(args.online_steps, 1),
                            td3={"hidden_sizes": hidden, "batch_size": args.batch_size,
                                 "updates_per_step": args.updates_per_step},
                            vae={"pretrain_batches": args.vae_batches})

    def make_env():
        return sawyer_sim.make(args.env, image_size=config.image_size, seed=args.seed)

    env, eval_env = make_env(), make_env()
    goals = make_goal_set(eval_env, config.eval_goals, config.eval_seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    demos = collect_demos(env, args.demos, args.seed + 10_000, noise=0.1)
    timings["demos_s"] = time.perf_counter() - t0
    base = RIGAgent(config, device=device)
    t0 = time.perf_counter()
    base.pretrain_vae(np.concatenate([f for f, _, _ in demos]), args.vae_batches)
    timings["vae_s"] = time.perf_counter() - t0

    def encode(frames: np.ndarray) -> np.ndarray:
        return base.encode(frames)[0]

    still = evaluate(eval_env, goals, lambda z, g: np.zeros(2, np.float32), encode, seed=config.eval_seed)
    demo_final, still_success = score(still.final, args.env), success(still, args.env)
    random_final = score(evaluate(eval_env, goals, random_policy(args.seed), encode, seed=config.eval_seed).final,
                         args.env)
    latents = [base.encode(f)[0] for f, _, _ in demos]
    dataset = TrajectoryDataset(np.concatenate([z[:-1] for z in latents]), np.concatenate([a for _, a, _ in demos]),
                                np.concatenate([z[1:] for z in latents]), np.concatenate([d for _, _, d in demos]),
                                np.concatenate([np.full(len(a), i) for i, (_, a, _) in enumerate(demos)]))
    rows: dict[str, dict[str, float]] = {}
    d = config.vae.latent_dim
    for algo in args.algos:
        cls, cfg_cls = ALGORITHMS[algo]
        sizes = {"policy_hidden_sizes": hidden, "critic_hidden_sizes": hidden} if algo == "awac" else {"hidden_sizes": hidden}
        algo_cfg = cfg_cls(**sizes, batch_size=args.batch_size,
                           **({"demo_batch_size": args.batch_size // 4} if algo == "td3_bc" else {}))
        learner = cls(2 * d, 2, algo_cfg, seed=args.seed, device=device)
        rng = np.random.default_rng(args.seed)
        t0 = time.perf_counter()
        for _ in range(args.offline_steps):
            learner.update(dataset.sample(algo_cfg.batch_size, rng, "future",
                                          demo_batch_size=getattr(algo_cfg, "demo_batch_size", 0),
                                          reward_scale=algo_cfg.reward_scale, device=device))
        t_off = time.perf_counter() - t0
        agent = RIGAgent(dataclasses.replace(config, seed=args.seed), device=device)
        tensors = {f"vae.{k}": v for k, v in base.vae.state_dict().items()}
        for name, module in learner.modules().items():
            tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
        own = args.online_learner == "own"
        loaded = start_from_offline(agent, tensors, *((algo, learner_config_json(learner)) if own else ()))
        offline_eval = evaluate(eval_env, goals, agent.act, encode, seed=config.eval_seed)
        after_offline = score(offline_eval.final, args.env)
        add_demo_episodes(agent, demos)
        t0 = time.perf_counter()
        online(agent, env, args.online_steps, args.seed)
        t_on = time.perf_counter() - t0
        online_eval = evaluate(eval_env, goals, agent.act, encode, seed=config.eval_seed)
        after_online = score(online_eval.final, args.env)
        rows[algo] = {"after_offline": after_offline, "after_online": after_online,
                      "success_offline": success(offline_eval, args.env), "success_online": success(online_eval, args.env),
                      "offline_s": round(t_off, 1),
                      "online_s": round(t_on, 1), "loaded": loaded}
        print(f"{algo}: {rows[algo]}", flush=True)
    t0 = time.perf_counter()
    rig = run_rig(dataclasses.replace(config, relabel="rig"), make_env, show_progress=False,  # RIG as published
                  device=device)
    rows["rig_scratch"] = {"after_offline": None, "after_online": score(rig.final_eval.final, args.env),
                           "success_offline": None, "success_online": success(rig.final_eval, args.env),
                           "online_s": round(time.perf_counter() - t0, 1)}
    print(f"\n{args.env}: {args.demos} demos, {args.offline_steps} offline steps, N = {args.online_steps} online env "
          f"steps ({args.online_learner} learner), {config.eval_goals} held-out goals; final distance (m), lower is better")
    print(f"{'method':<12} {'after offline':>14} {'after online':>13}   success (< {SUCCESS_M} m) offline / online")
    for name, row in rows.items():
        off = "-" if row["after_offline"] is None else f"{row['after_offline']:.4f}"
        ok_off = "-" if row["success_offline"] is None else f"{row['success_offline']:.2f}"
        print(f"{name:<12} {off:>14} {row['after_online']:>13.4f}   {ok_off} / {row['success_online']:.2f}")
    print(f"{'(random)':<12} {random_final:>14.4f}   (no motion: {demo_final:.4f}, success {still_success:.2f})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                                        "results": rows, "random_policy": random_final, "no_motion": demo_final,
                                        "no_motion_success": still_success, "success_threshold_m": SUCCESS_M,
                                        "timings": {k: round(v, 1) for k, v in timings.items()}}, indent=2))


if __name__ == "__main__":
    main()

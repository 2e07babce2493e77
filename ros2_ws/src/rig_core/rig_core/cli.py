"""`rig`: run the whole RIG pipeline in the MuJoCo Sawyer simulator and write a report.

    rig run --env reacher --steps 10000 --seeds 0 1 2 --out runs/reacher
    rig run --env pusher --relabel future --reward log_prob      # ablations
    rig run --env pusher --goals skewfit --skew-alpha -1          # Skew-Fit goals (thesis ch. 4)
    rig run --env color_pusher --vae ccvae                        # CC-RIG (thesis ch. 3)
    rig run --resume --out runs/reacher                           # continue from its checkpoints
    rig run --device cuda                                         # train the VAE and TD3 on the first GPU
    rig run --env insertion --residual --kp 1                     # residual RL on a P-controller (thesis ch. 8-9)
    rig eval --checkpoint runs/reacher/seed0/checkpoint
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from rig_core.config import ARM_CONTROLS, GOAL_SAMPLERS, RELABEL_STRATEGIES, REWARD_TYPES, VAE_MODELS, RIGConfig, default_config
from rig_core.device import DEVICE_HELP, parse_device
from rig_core.errors import ConfigError, RigError


def parse_set_items(items: list[str], data: dict[str, Any] | None = None) -> dict[str, Any]:
    """`--set a.b=value` items (values parsed as YAML) merged into nested `data` (a new dict if None)."""
    data = {} if data is None else data
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return data


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags and `--set a.b=v` pairs as a nested override dict for `default_config`."""
    data: dict[str, Any] = {}
    if args.config:
        try:
            loaded = yaml.safe_load(Path(args.config).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read config file {args.config}: {err}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {args.config} must hold a mapping")
        data.update(loaded)
    flags = {"total_steps": args.steps, "relabel": args.relabel, "reward": args.reward, "goals": args.goals,
             "exploration_steps": args.exploration_steps, "eval_every": args.eval_every,
             "eval_goals": args.eval_goals, "image_size": args.image_size, "arm_control": args.arm_control}
    data.update({k: v for k, v in flags.items() if v is not None})
    if args.online_vae_every is not None:
        data.setdefault("vae", {})["online_every"] = args.online_vae_every
    if args.skew_alpha is not None:
        data.setdefault("skewfit", {})["alpha"] = args.skew_alpha
    if args.vae is not None:
        data.setdefault("vae", {})["model"] = args.vae
    return parse_set_items(args.set or [], data)


def _make_env_factory(config: RIGConfig):
    import sawyer_sim

    if config.env not in sawyer_sim.ENV_NAMES:
        raise ConfigError(f"unknown env {config.env!r}; choose one of {', '.join(sawyer_sim.ENV_NAMES)}")
    kwargs: dict[str, Any] = {"image_size": config.image_size, "seed": config.seed}
    if config.arm_control != "mocap":
        kwargs["control"] = config.arm_control
    if config.max_episode_steps:
        kwargs["max_episode_steps"] = config.max_episode_steps
    return lambda: sawyer_sim.make(config.env, **kwargs)


def cmd_run_residual(args: argparse.Namespace) -> int:
    """`rig run --env insertion`: state-based TD3 on the insertion env, with the P-controller under it when
    `--residual` (thesis Alg. 6), else RL alone (kp = 0, residual bound 1)."""
    import json

    from rig_core.residual_report import contact_strips, write_residual_report
    from rig_core.residual_rl import MAX_STEP, ResidualPolicy, ResidualRLConfig, controller_only, train_residual_rl, write_results
    from rig_core.residual_weights import residual_bytes

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = parse_set_items(args.set or [], {})
    data = data.get("residual", data)  # `--set residual.kp=2` or `--set kp=2`
    if args.kp is not None and not args.residual:
        raise ConfigError("--kp is the residual's P-controller gain: add --residual (without it, RL alone runs with kp = 0)")
    if args.residual:
        data.setdefault("kp", args.kp if args.kp is not None else 1.0)
    else:
        data.update(kp=0.0, residual_bound=1.0)
    flags = {"residual_bound": args.residual_bound, "target_error": args.target_error, "total_steps": args.steps,
             "eval_every": args.eval_every, "eval_episodes": args.eval_goals}
    data.update({k: v for k, v in flags.items() if v is not None})
    out = Path(args.out or f"runs/insertion-{time.strftime('%Y%m%d-%H%M%S')}")
    command = "rig " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results, strips = [], []
    for seed in args.seeds:
        config = ResidualRLConfig.from_dict({**data, "seed": seed})
        result, learner = train_residual_rl(config, log=None if args.quiet else print)
        if config.kp > 0:
            result["controller_only"] = controller_only(config)
        result["command"] = command
        path = write_results(result, out / f"seed{seed}")
        (out / f"seed{seed}" / "residual_weights.safetensors").write_bytes(residual_bytes(learner, config, 1, config.total_steps))
        results.append(result)
        if not strips:  # the first seed's policy against the P-controller alone, on the same held-out episodes
            controller = ResidualPolicy(config.kp or 1.0, config.residual_bound, MAX_STEP)
            strips = contact_strips(config, {"P-controller alone": controller,
                                             "learned": ResidualPolicy(config.kp, config.residual_bound, MAX_STEP, learner.act)})
        final = result["curve"][-1]
        print(f"seed {seed}: success {final['success_rate']:.2f} at {final['step']} steps"
              + (f" (P-controller alone {result['controller_only']['success_rate']:.2f})" if config.kp > 0 else "")
              + f"; {path}")
    summary = [json.loads((out / f"seed{s}" / "results.json").read_text())["curve"][-1]["success_rate"] for s in args.seeds]
    print(f"final success rate over seeds {args.seeds}: {sum(summary) / len(summary):.2f}")
    print(f"report: {write_residual_report(results, strips, out, command).resolve()}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.env == "insertion" or args.residual:
        if args.env != "insertion":
            raise ConfigError("--residual is for --env insertion (the state-based residual-RL task)")
        return cmd_run_residual(args)
    from rig_core.loop import run_rig
    from rig_core.report import write_report

    device = parse_device(args.device)  # before any work: a missing GPU is one line, not a crash later
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    overrides = _overrides(args)
    out = Path(args.out or f"runs/{args.env}-{time.strftime('%Y%m%d-%H%M%S')}")
    results = []
    for seed in args.seeds:
        config = default_config(args.env, **{**overrides, "seed": seed})
        seed_dir = out / f"seed{seed}"
        resume = args.resume and (seed_dir / "checkpoint" / "agent.safetensors").is_file()
        results.append(run_rig(config, _make_env_factory(config), seed_dir / "checkpoint",
                               checkpoint_every=args.checkpoint_every, resume=resume,
                               show_progress=not args.quiet, device=device))
    command = "rig " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = write_report(results, out, command)
    metric = report.parent / "results.json"
    import json

    summary = json.loads(metric.read_text())
    u = "rad" if summary["metric"] == "angle_distance" else "m"
    print(f"final {summary['metric']} at {summary['final_step']} steps: {summary['final_mean']:.4f} ± "
          f"{summary['final_std']:.4f} {u} (random policy {summary['random_policy_mean']:.4f} {u})")
    print(f"report: {report.resolve()}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rig_core.agent import RIGAgent
    from rig_core.checkpoint import load_checkpoint, load_config
    from rig_core.evaluate import evaluate, make_goal_set
    from rig_core.loop import context_encoder

    device = parse_device(args.device)
    config = load_config(args.checkpoint)
    agent = RIGAgent(config, device=device)
    load_checkpoint(agent, args.checkpoint, with_replay=False)
    env = _make_env_factory(config)()
    goals = make_goal_set(env, args.goals, config.eval_seed)
    result = evaluate(env, goals, agent.act, lambda f: agent.encode(f)[0], seed=config.eval_seed,
                      context_encode=context_encoder(agent))
    print(" ".join(f"{k}={v:.4f}" for k, v in result.final.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rig", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="explore → VAE → practice with imagined goals → evaluate → report")
    run.add_argument("--env", default="reacher",
                     help="reacher | pusher | multi_pusher | door | pickup | color_pusher | varying_pusher | insertion "
                          "(default: reacher)")
    run.add_argument("--steps", type=int, help="total env steps, exploration included")
    run.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed (default: 0)")
    run.add_argument("--relabel", choices=RELABEL_STRATEGIES, help="goal relabeling strategy (default: rig)")
    run.add_argument("--reward", choices=REWARD_TYPES, help="reward (default: latent_distance)")
    run.add_argument("--goals", choices=GOAL_SAMPLERS, help="goal sampling: prior (RIG, default), skewfit (thesis ch. 4) "
                     "or env (sim only: images of the env's own goal states, encoded; a diagnostic)")
    run.add_argument("--skew-alpha", type=float, help="Skew-Fit's α (Eq. 9; default per env, thesis Table 13: -1 pusher)")
    run.add_argument("--vae", choices=VAE_MODELS, help="vae (RIG, default) or ccvae (CC-RIG: context-conditioned VAE, "
                     "thesis §3.4)")
    run.add_argument("--online-vae-every", type=int, help="train the VAE online every N env steps (paper: 3000)")
    run.add_argument("--exploration-steps", type=int, help="random-policy steps for VAE pre-training")
    run.add_argument("--eval-every", type=int, help="env steps between evaluations")
    run.add_argument("--eval-goals", type=int, help="held-out goal images per evaluation")
    run.add_argument("--image-size", type=int, help="camera image size in pixels (default: 48)")
    run.add_argument("--arm-control", choices=ARM_CONTROLS, help="how the sim moves the hand: mocap (default) or driver "
                     "(the real arm driver's controller: joint velocities at 100 Hz, all its limits)")
    run.add_argument("--config", help="YAML file of config values (same keys as results.json 'config')")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config value, e.g. td3.batch_size=256")
    run.add_argument("--out", help="output directory (default: runs/<env>-<time>)")
    run.add_argument("--checkpoint-every", type=int, default=5000, help="env steps between checkpoints (0: off)")
    run.add_argument("--resume", action="store_true", help="continue each seed from its checkpoint in --out")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    run.add_argument("--device", default="cpu", help=DEVICE_HELP)
    res = run.add_argument_group("insertion (state-based residual RL, thesis ch. 8-9; other keys: --set residual.KEY=V)")
    res.add_argument("--residual", action="store_true", help="learn a residual on the P-controller (else RL alone)")
    res.add_argument("--kp", type=float, help="P-gain scale K: kp = K·(1, 1, 0.3) (default 1)")
    res.add_argument("--residual-bound", type=float, help="bound on the residual per axis, action units (default 1)")
    res.add_argument("--target-error", type=float, help="controller target error, ± m per axis (default 0.006)")
    run.set_defaults(func=cmd_run)
    ev = sub.add_parser("eval", help="evaluate a checkpoint on held-out goal images")
    ev.add_argument("--checkpoint", required=True, help="a checkpoint directory (…/seedN/checkpoint)")
    ev.add_argument("--goals", type=int, default=16)
    ev.add_argument("--device", default="cpu", help=DEVICE_HELP)
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RigError as err:
        print(f"rig: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rig: interrupted (the last checkpoint is kept; rerun with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Progress: per-phase rates and the ETA over all phases, on a fake clock; the loop's phase plan."""

from __future__ import annotations

import io

import pytest

from rig_core.config import default_config
from rig_core.loop import plan_phases, run_rig
from rig_core.progress import Phase, Progress, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def rig_like(clock: FakeClock, stream: io.StringIO | None = None, **kwargs) -> Progress:
    phases = [Phase("exploration", "env steps", 500), Phase("VAE pre-training", "VAE batches", 1000),
              Phase("practice", "env steps", 500), Phase("evaluation", "eval episodes", 64)]
    return Progress(phases, clock=clock, stream=stream or io.StringIO(), **kwargs)


def work(progress: Progress, clock: FakeClock, units: int, seconds_each: float) -> None:
    for _ in range(units):
        clock.tick(seconds_each)
        progress.advance()


def test_nothing_measured_gives_no_eta_and_no_division():
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("exploration")
    clock.tick(5.0)  # time passes, no unit done yet: rate unknown, not zero
    assert progress.eta() == (0.0, ["exploration", "VAE pre-training", "practice", "evaluation"])
    assert "ETA not known yet" in progress.summary()


def test_eta_covers_measured_phases_and_names_the_unmeasured():
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("exploration")
    work(progress, clock, 100, 0.01)  # 100 steps/s
    seconds, unknown = progress.eta()
    assert seconds == pytest.approx(400 / 100)
    assert unknown == ["VAE pre-training", "practice", "evaluation"]
    assert "ETA at least 4 s (VAE pre-training, practice, evaluation not measured yet)" in progress.summary()


def test_vae_pretraining_eta_uses_batches_per_second_not_env_steps():
    """The old bar divided remaining env steps by an env-step rate that is zero while the VAE trains."""
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("exploration")
    work(progress, clock, 500, 0.01)
    progress.start("VAE pre-training")
    work(progress, clock, 100, 0.1)  # 10 batches/s, 60 s of VAE training with no env step
    seconds, unknown = progress.eta()
    assert seconds == pytest.approx(900 / 10)
    assert unknown == ["practice", "evaluation"]
    assert progress.phases["exploration"].rate() == pytest.approx(100.0)  # kept, though its clock stopped
    assert "10.0 VAE batches/s" in progress.summary()


def test_eta_sums_every_phase_once_all_are_measured():
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("exploration")
    work(progress, clock, 500, 0.01)
    progress.start("VAE pre-training")
    work(progress, clock, 1000, 0.1)
    with progress.phase("evaluation"):
        work(progress, clock, 16, 0.5)  # 2 episodes/s
    progress.start("practice")
    work(progress, clock, 100, 0.2)  # 5 steps/s
    assert progress.eta() == (pytest.approx(400 / 5 + 48 / 2), [])
    assert progress.summary().endswith("ETA 1m44s")


def test_a_nested_phase_does_not_slow_the_outer_phase_down():
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("practice")
    work(progress, clock, 50, 0.1)
    with progress.phase("evaluation"):
        work(progress, clock, 16, 1.0)  # 16 s of evaluation inside practice
    work(progress, clock, 50, 0.1)
    assert progress.phases["practice"].rate() == pytest.approx(10.0)
    assert progress.phases["evaluation"].rate() == pytest.approx(1.0)


def test_a_stall_lowers_the_rate_of_the_phase_in_progress():
    clock = FakeClock()
    progress = rig_like(clock)
    progress.start("practice")
    work(progress, clock, 10, 0.1)
    clock.tick(9.0)  # stuck in the middle of a step
    seconds, _ = progress.eta()
    assert seconds == pytest.approx(490 / (10 / 10.0))


def test_an_unmeasured_phase_is_estimated_from_a_measured_one():
    clock = FakeClock()
    phases = [Phase("exploration", "env steps", 100),
              Phase("evaluation", "eval episodes", 10, estimate_from="exploration", estimate_factor=1 / 50)]
    progress = Progress(phases, clock=clock, stream=io.StringIO())
    progress.start("exploration")
    work(progress, clock, 50, 0.02)  # 50 steps/s → 1 episode/s of 50 steps
    assert progress.eta() == (pytest.approx(50 / 50 + 10 / 1), [])
    progress.start("evaluation")
    work(progress, clock, 2, 4.0)  # measured now: its own rate wins
    assert progress.eta() == (pytest.approx(50 / 50 + 8 / 0.25), [])


def test_resumed_work_counts_as_done_but_not_as_measured():
    clock = FakeClock()
    progress = Progress([Phase("practice", "env steps", 1000, done=800)], clock=clock, stream=io.StringIO())
    progress.start("practice")
    clock.tick(3.0)
    assert progress.eta() == (0.0, ["practice"])
    work(progress, clock, 10, 0.1)
    assert progress.eta() == (pytest.approx(190 / (10 / 4.0)), [])


def test_log_lines_name_phase_rate_and_eta_and_each_completed_phase():
    clock, out = FakeClock(), io.StringIO()
    progress = rig_like(clock, out, log_every_s=15.0)
    progress.start("exploration")
    work(progress, clock, 500, 1 / 64)  # binary fractions: the clock lands exactly where the test says
    progress.start("VAE pre-training")
    work(progress, clock, 40, 0.25)  # the first log line is due 15 s after the start: at batch 29
    lines = out.getvalue().splitlines()
    assert lines == ["[rig] exploration done: 500 env steps in 8 s (64.0 env steps/s)",
                     "[rig] VAE pre-training 29/1000 VAE batches, 4.0 VAE batches/s, "
                     "ETA at least 4m03s (practice, evaluation not measured yet)"]


def test_format_duration():
    assert [format_duration(s) for s in (0.4, 59.4, 61, 3599, 3720)] == ["0 s", "59 s", "1m01s", "59m59s", "1h02m"]


def test_phase_plan_matches_what_the_loop_runs(point_env_factory, capsys):
    cfg = default_config("point", seed=0, total_steps=150, exploration_steps=100, eval_every=20, eval_goals=2,
                         replay_capacity=1000, vae={"latent_dim": 4, "pretrain_batches": 10, "online_every": 25,
                                                    "online_batches": 3},
                         td3={"hidden_sizes": [16, 16], "batch_size": 16, "updates_per_step": 1})
    phases = {p.name: p for p in plan_phases(cfg, 0, False, 20)}
    # evaluations: random baseline, after pre-training, steps 120 140 150, final
    assert [phases[n].total for n in phases] == [100, 10, 50, 2 * 3, 6 * 2]
    run_rig(cfg, point_env_factory, show_progress=True)
    err = capsys.readouterr().err
    for done in ("exploration done: 100 env steps", "VAE pre-training done: 10 VAE batches",
                 "practice done: 50 env steps", "online VAE done: 6 VAE batches", "evaluation done: 12 eval episodes"):
        assert done in err, err

"""Deadman, enable / e-stop gate and lost-robot detection, with explicit times."""

from __future__ import annotations

from sawyer_driver.supervisor import Action, RobotState, Supervisor

ENABLED = RobotState(enabled=True, stopped=False)


def running(now: float = 0.0) -> Supervisor:
    sup = Supervisor(command_timeout=0.2, state_timeout=0.2)
    sup.on_robot_state(ENABLED, now)
    sup.on_joint_state(now)
    return sup


def test_no_robot_state_means_no_command():
    sup = Supervisor()
    sup.on_joint_state(0.0)
    sup.on_command(0.0)
    d = sup.decide(0.01)
    assert d.action is Action.NOTHING and d.status.startswith("waiting:") and "/robot/state" in d.status


def test_fresh_command_moves_then_deadman_stops_once():
    sup = running()
    sup.on_command(0.05)
    sup.on_joint_state(0.1)
    assert sup.decide(0.1).action is Action.VELOCITY
    sup.on_joint_state(0.3)
    d = sup.decide(0.26)
    assert d.action is Action.STOP and "deadman" in d.status
    assert sup.decide(0.27).action is Action.NOTHING  # one stop, then the robot's timeout holds the arm
    sup.on_command(0.28)
    assert sup.decide(0.29).action is Action.VELOCITY


def test_disabled_and_estopped_robot_gets_nothing_with_a_reason():
    sup = running()
    sup.on_command(0.0)
    sup.on_robot_state(RobotState(enabled=False, stopped=False), 0.01)
    d = sup.decide(0.02)
    assert d.action is Action.NOTHING and d.status.startswith("disabled:")
    sup.on_robot_state(RobotState(enabled=False, stopped=True, estop_button=1, estop_source=1), 0.03)
    d = sup.decide(0.04)
    assert d.action is Action.NOTHING and d.status.startswith("e-stopped:") and "pressed" in d.status


def test_re_enable_needs_a_new_command():
    sup = running()
    sup.on_command(0.0)
    sup.on_robot_state(RobotState(enabled=False, stopped=False), 0.01)
    sup.on_command(0.02)  # sent while disabled
    sup.on_robot_state(ENABLED, 0.05)
    sup.on_joint_state(0.06)
    assert sup.decide(0.06).action is Action.NOTHING
    sup.on_command(0.07)
    assert sup.decide(0.08).action is Action.VELOCITY


def test_lost_joint_states_stop_the_arm_and_report_an_error():
    sup = running()
    sup.on_command(0.0)
    assert sup.decide(0.01).action is Action.VELOCITY
    sup.on_command(0.3)
    d = sup.decide(0.3)
    assert d.action is Action.STOP and d.status.startswith("error: robot lost")
    assert sup.decide(0.31).action is Action.NOTHING


def test_hold_after_reset_waits_for_a_newer_command():
    sup = running()
    sup.on_command(0.0)
    sup.hold(0.05)
    assert sup.decide(0.06).action is Action.NOTHING


def test_deadman_counts_the_next_tick():
    sup = Supervisor(command_timeout=0.2, state_timeout=0.2, tick=0.01)
    sup.on_robot_state(ENABLED, 0.0)
    sup.on_command(0.0)
    sup.on_joint_state(0.185)
    assert sup.decide(0.185).action is Action.VELOCITY
    assert sup.decide(0.195).action is Action.STOP  # at the next tick (0.205) it would be too old

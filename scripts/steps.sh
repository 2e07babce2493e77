# Sourced by the setup scripts: one line per step on stderr, the tools' own output (apt, pip, colcon) in a log.
#   step "what it does" command [args...]   runs it; prints "[setup] what it does ... ok (12.3 s)", or on a
#                                           failure the log's last lines and its path, then exits non-zero
#   step_skip "what"                        prints "[setup] what: up to date"
# The log is $RIG_SETUP_LOG (default logs/setup.log in the checkout): the outermost script starts it afresh,
# the scripts it calls append to it.

STEP_PREFIX="${STEP_PREFIX:-[setup]}"
STEP_TAIL_LINES="${STEP_TAIL_LINES:-30}"
if [ -z "${_RIG_SETUP_LOG_OPEN:-}" ]; then
  RIG_SETUP_LOG="${RIG_SETUP_LOG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/logs/setup.log}"
  mkdir -p "$(dirname "$RIG_SETUP_LOG")"
  : >"$RIG_SETUP_LOG"
  export RIG_SETUP_LOG _RIG_SETUP_LOG_OPEN=1
fi

# Microseconds since the epoch (EPOCHREALTIME without its locale's decimal mark).
step_clock() { printf '%s' "${EPOCHREALTIME//[!0-9]/}"; }

# Seconds since a step_clock value, e.g. "12.3 s" or "4m05s".
step_elapsed() {
  local tenths=$((($(step_clock) - $1) / 100000))
  if ((tenths < 600)); then printf '%d.%d s' $((tenths / 10)) $((tenths % 10))
  else printf '%dm%02ds' $((tenths / 600)) $((tenths / 10 % 60)); fi
}

step() {
  local what=$1 start rc errexit=0
  shift
  start=$(step_clock)
  printf '%s %s ... ' "$STEP_PREFIX" "$what" >&2
  printf '\n=== %s  %s\n$ %s\n' "$(date '+%F %T')" "$what" "$*" >>"$RIG_SETUP_LOG"
  # A subshell with its own errexit: a step that is a shell function stops at its first failing command.
  [[ $- == *e* ]] && errexit=1
  set +e
  (set -e; "$@") </dev/null >>"$RIG_SETUP_LOG" 2>&1
  rc=$?
  ((errexit)) && set -e
  if ((rc == 0)); then
    printf 'ok (%s)\n' "$(step_elapsed "$start")" >&2
    return 0
  fi
  printf 'FAILED (exit %d after %s)\n' "$rc" "$(step_elapsed "$start")" >&2
  printf '%s last %d lines of %s:\n' "$STEP_PREFIX" "$STEP_TAIL_LINES" "$RIG_SETUP_LOG" >&2
  tail -n "$STEP_TAIL_LINES" "$RIG_SETUP_LOG" | sed 's/^/  | /' >&2
  printf '%s failed: %s (full log: %s)\n' "$STEP_PREFIX" "$what" "$RIG_SETUP_LOG" >&2
  exit "$rc"
}

step_skip() { printf '%s %s: up to date\n' "$STEP_PREFIX" "$1" >&2; }

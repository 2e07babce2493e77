#!/usr/bin/env bash
# Install the named Debian packages that are missing (via sudo when not root); one "up to date" line when all
# are there. apt's output goes to the setup log (scripts/steps.sh).
#   bash scripts/apt_ensure.sh [--what "for offscreen rendering"] pkg [pkg ...]
set -euo pipefail
# shellcheck source=steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps.sh"
what=""
if [ "${1:-}" = "--what" ]; then what=" $2"; shift 2; fi
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]} == 0)); then
  step_skip "apt packages$what"
  exit 0
fi

apt_install() {
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
step "apt packages$what: ${missing[*]}" apt_install "${missing[@]}"

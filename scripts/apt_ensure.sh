#!/usr/bin/env bash
# Install the named Debian packages that are missing (via sudo when not root); nothing when all are there.
#   bash scripts/apt_ensure.sh pkg [pkg ...]
set -euo pipefail
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
((${#missing[@]})) || exit 0
printf '[setup] apt-get install %s\n' "${missing[*]}" >&2
sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

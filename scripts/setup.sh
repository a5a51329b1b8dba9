#!/usr/bin/env bash
# Everything a fresh machine needs before `npm test` or `understory up`, idempotent and quick when done:
#   1. Debian packages (scripts/setup-system.sh)
#   2. npm packages exactly as locked (npm ci), skipped when node_modules matches package-lock.json
#   3. native parts (the sensor's BPF object and addon), rebuilt when their sources changed
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh

stamp=node_modules/.understory-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
else
  echo "setup: npm packages up to date"
fi

if [[ -f scripts/build-native.mjs ]]; then
  node scripts/build-native.mjs
fi

#!/usr/bin/env bash
# Everything a fresh machine needs before `npm test` or `understory up`, idempotent and quick when done:
#   1. Debian packages (scripts/setup-system.sh)
#   2. npm packages as locked, skipped when node_modules matches package-lock.json
#   3. native parts (the sensor's BPF object and addon), rebuilt when their sources changed
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh

stamp=node_modules/.understory-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  # Not `npm ci`: chdb lists optional macOS/arm64 library packages that this registry does not serve, so
  # they cannot be in the lock file and `npm ci` calls the lock "out of sync". `npm install` installs the
  # locked versions all the same; we then insist that it did not have to change the lock.
  echo "setup: installing npm packages (npm install, as locked)"
  before=$(mktemp)
  cp package-lock.json "$before"
  npm install --no-audit --no-fund
  if ! cmp -s package-lock.json "$before"; then
    echo "setup: npm changed package-lock.json: commit the updated lock file" >&2
  fi
  rm -f "$before"
  echo "$want" >"$stamp"
else
  echo "setup: npm packages up to date"
fi

if [[ -f scripts/build-native.mjs ]]; then
  node scripts/build-native.mjs
fi
node scripts/build-ui.mjs

#!/usr/bin/env bash
# Fails unless package-lock.json is exactly the tree every install uses: `npm ci`
# accepts it (in sync with package.json, every platform's optional packages in
# it) and `npm install` would not rewrite it. Works on copies in a temporary
# directory, so node_modules and the lockfile stay as they are.
# Usage: check-lockfile.sh [directory with package.json and package-lock.json]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
cd "$tmp"
if ! npm ci --dry-run --ignore-scripts --no-audit --no-fund >npm-ci.log 2>&1; then
  echo "package-lock.json: npm ci refuses it:" >&2
  grep -i 'npm error' npm-ci.log | head -20 >&2
  exit 1
fi
npm install --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null 2>&1
if ! cmp -s package-lock.json "$src/package-lock.json"; then
  echo "package-lock.json: npm install would change it (run npm install, commit the lockfile):" >&2
  diff "$src/package-lock.json" package-lock.json | head -20 >&2
  exit 1
fi
echo "package-lock.json: npm ci accepts it, npm install keeps it"

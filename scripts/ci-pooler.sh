#!/usr/bin/env bash
# The pooler tier (test/pooler/): the app through a real PgBouncer in pool_mode = transaction with
# its default settings, started by the tests themselves (as a non-root user) in front of a private
# PostgreSQL cluster, and the server-side statement timeout directly and through the pooler.
# Installs Debian's pgbouncer once (idempotent), then fails rather than skips if it is missing.
# Usage: bash scripts/ci-pooler.sh   (VITEST_JSON_REPORT=<file> for .ci/run's closing line; `npm test`
# runs the tier too, in pairs with the fault files)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "== install pgbouncer (pooler tier)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
fi

echo "== pooler tier: $(/usr/sbin/pgbouncer --version 2>/dev/null | head -n1 || pgbouncer --version | head -n1)"
started=$(date +%s)
# The tier brings its own cluster and pooler; it needs no DATABASE_URL.
status=0
(unset DATABASE_URL TEST_DATABASE_ADMIN_URL; POOLER_TIER_REQUIRED=1 npx vitest run test/pooler/) || status=$?
echo "== pooler tier took $(( $(date +%s) - started )) s"
exit "$status"

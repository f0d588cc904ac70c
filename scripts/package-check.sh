#!/usr/bin/env bash
# One real install of the package, as a host makes it: packs this repository (npm pack), creates a
# scratch NestJS app in a temporary directory whose package.json has the tarball and the peer
# dependencies (nothing else), runs ONE `npm install --prefer-offline` (after CI's `npm ci` the npm
# cache holds every dependency), then
#   - compiles a small consumer (consumer.ts) against the installed .d.ts with `tsc --noEmit`
#     (this repository's TypeScript), where `@ts-expect-error` lines fail the check if the types
#     were missing (`any`) rather than precise;
#   - runs a Node smoke (smoke.mjs) that imports `jira-connect` and `jira-connect/testing`, checks
#     their exports, starts and stops the fake Atlassian, checks that a deep import is refused
#     (the exports map) and that the package brought no @nestjs/core of its own.
# Prints the wall time of each part. The examples/host-app test does not install (about a minute
# with the dependencies): it unpacks the tarball only (examples/host-app/test/packed.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TSC="$ROOT/node_modules/typescript/bin/tsc"

t_start=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/jira-connect-package-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. dist/: built when missing or older than its sources (CI's build step has just run).
entry=dist/src/integrations/jira/index.js
if [ ! -f "$entry" ] || [ -n "$(find src migrations package.json tsconfig.json tsconfig.build.json \
    -newer "$entry" -not -name '*.spec.ts' -print -quit)" ]; then
  echo "building dist/"
  npm run build --silent
fi

# 2. The tarball (--ignore-scripts: prepack would build a second time).
t=$EPOCHREALTIME
mkdir "$work/pack"
pack_json=$(npm pack --ignore-scripts --json --pack-destination "$work/pack")
tarball="$work/pack/$(node -e 'process.stdout.write(JSON.parse(process.argv[1])[0].filename)' "$pack_json")"
node -e 'const [p] = JSON.parse(process.argv[1]); console.log(`packed ${p.filename}: ${p.entryCount} files, ${(p.size / 1024).toFixed(0)} kB (${(p.unpackedSize / 1024).toFixed(0)} kB unpacked)`)' "$pack_json"
echo "pack: $(elapsed "$t")"

# 3. The scratch host: the tarball and the peers (the ranges our package.json asks for), nothing else.
app="$work/host"
mkdir "$app"
node -e '
  const fs = require("fs");
  const ours = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const app = { name: "jira-connect-package-check", private: true, type: "module",
    dependencies: { "jira-connect": "file:" + process.argv[2], ...ours.peerDependencies } };
  fs.writeFileSync(process.argv[1] + "/package.json", JSON.stringify(app, null, 2) + "\n");
' "$app" "$tarball"
t=$EPOCHREALTIME
(cd "$app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error)
echo "npm install: $(elapsed "$t") ($(node -p 'Object.keys(require(process.argv[1]).packages).length' "$app/node_modules/.package-lock.json") packages)"

# 4. A consumer compiled against the installed types.
cat > "$app/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2023",
    "lib": ["es2023"],
    "types": [],
    "strict": true,
    "experimentalDecorators": true,
    "emitDecoratorMetadata": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "files": ["consumer.ts"]
}
EOF
cat > "$app/consumer.ts" <<'EOF'
import { Module } from '@nestjs/common';
import {
  JiraClient, JiraConnectionEvent, JiraError, JiraErrorCode, JiraIntegrationModule, JiraTokenManager, OnJiraWebhook,
  TeamAccessPolicy, jiraConnectEntities, jiraConnectMigrations, verifyNotification,
  type JiraConnectionEventPayload, type JiraIntegrationModuleOptions, type JiraWebhookEvent, type TeamRole,
} from 'jira-connect';
import { startFakeAtlassian, type RunningFakeAtlassian } from 'jira-connect/testing';

class Policy extends TeamAccessPolicy {
  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    return teamId === '1' && userId === '1' ? 'owner' : null;
  }
}

export const options: JiraIntegrationModuleOptions = {
  atlassian: { clientId: 'id', clientSecret: 'secret', redirectUri: 'http://localhost/integrations/jira/oauth/callback' },
  encryption: { currentKey: 'a'.repeat(44) },
  teamAccessPolicy: new Policy(),
};

@Module({ imports: [JiraIntegrationModule.forRoot({ ...options, routePrefix: 'integrations/jira' })] })
export class HostModule {}

export class HostService {
  constructor(private readonly jira: JiraClient, private readonly tokens: JiraTokenManager) {}

  async accountId(teamId: string): Promise<string> {
    return (await this.jira.forTeam(teamId).myself()).accountId;
  }

  @OnJiraWebhook({ events: ['jira:issue_updated'], jqlFilter: 'project = ABC' })
  onIssue(event: JiraWebhookEvent): void {
    void event;
  }
}

export const codes: JiraErrorCode[] = [JiraErrorCode.NotConfigured];
export const isJiraError = (e: unknown): boolean => e instanceof JiraError;
export const onConnected = (payload: JiraConnectionEventPayload): string => `${JiraConnectionEvent.Connected} ${payload.teamId}`;
export const schema: unknown[] = [...jiraConnectEntities, ...jiraConnectMigrations];
export const verified: boolean = verifyNotification('secret', '{}', '0', 'v1=00');
export const fake: Promise<RunningFakeAtlassian> = startFakeAtlassian({ consentPage: false });

// Precise types, not `any` (an unresolved declaration would make these lines compile, and then
// the unused @ts-expect-error fails the check).
// @ts-expect-error not a JiraErrorCode
export const notACode: JiraErrorCode = 'no_such_code';
// @ts-expect-error atlassian is required
export const incomplete: JiraIntegrationModuleOptions = { encryption: { currentKey: 'k' } };
// @ts-expect-error url is a string
export const port: number = (null as unknown as RunningFakeAtlassian).url;
EOF
t=$EPOCHREALTIME
(cd "$app" && node "$TSC" -p tsconfig.json)
echo "tsc --noEmit (consumer.ts against the installed types): $(elapsed "$t")"

# 5. The installed package at run time.
cat > "$app/smoke.mjs" <<'EOF'
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import * as jiraConnect from 'jira-connect';
import * as testing from 'jira-connect/testing';

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
for (const name of ['JiraIntegrationModule', 'JiraClient', 'TeamJiraClient', 'JiraTokenManager', 'JiraProxyService', 'OnJiraWebhook',
  'JiraConnectionEvent', 'JiraError', 'JiraErrorCode', 'TeamAccessPolicy', 'isJiraPublicRoute', 'ProblemDetailsFilter', 'AppError',
  'addProblemCodeCatalogue', 'MetricsService', 'verifyNotification', 'NOTIFICATION_HEADERS', 'NotificationType']) {
  check(jiraConnect[name] !== undefined, `jira-connect exports ${name}`);
}
check(typeof jiraConnect.JiraIntegrationModule?.forRoot === 'function', 'JiraIntegrationModule.forRoot');
check(Array.isArray(jiraConnect.jiraConnectMigrations) && jiraConnect.jiraConnectMigrations.length > 0, 'jiraConnectMigrations is a non-empty array');
check(Array.isArray(jiraConnect.jiraConnectEntities) && jiraConnect.jiraConnectEntities.length > 0, 'jiraConnectEntities is a non-empty array');
check(typeof testing.startFakeAtlassian === 'function' && typeof testing.FakeAtlassian === 'function', 'jira-connect/testing exports startFakeAtlassian, FakeAtlassian');

// The fake Atlassian runs from the installed package (its own dependency, jose, resolved).
const fake = await testing.startFakeAtlassian();
const res = await fetch(`${fake.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
check(res.status >= 400 && res.status < 500, `the fake Atlassian answers (a token request without a code: ${res.status})`);
await fake.stop();

// The exports map: nothing but the two entries (and package.json).
try {
  await import('jira-connect/dist/src/main.js');
  check(false, 'a deep import is refused');
} catch (error) {
  check(error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED', `a deep import is refused (${error.code})`);
}

// One @nestjs/core: the host's, not a copy under the package.
const require = createRequire(import.meta.url);
const fromPackage = createRequire(require.resolve('jira-connect'));
check(fromPackage.resolve('@nestjs/core') === require.resolve('@nestjs/core'), 'jira-connect uses the host\'s @nestjs/core');
check(!existsSync(new URL('./node_modules/jira-connect/node_modules/@nestjs', import.meta.url)), 'no @nestjs package nested under jira-connect');

if (failures.length) {
  console.error(`package smoke: ${failures.length} failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('package smoke: exports, testing entry, exports map and one @nestjs/core: ok');
EOF
t=$EPOCHREALTIME
(cd "$app" && node smoke.mjs)
echo "node smoke: $(elapsed "$t")"
echo "package check: $(elapsed "$t_start") in all"

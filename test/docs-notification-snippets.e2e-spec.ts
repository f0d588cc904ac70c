import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATION_HEADERS, signNotification } from '../src/integrations/jira/notifications/notification-signature.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { NotificationReceiver, type ReceivedNotification } from './helpers/notification-receiver.js';
import { connect } from './helpers/oauth-flow.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/*
 * docs/notifications.md shows how a receiver verifies a notification, in Node and in Python. This
 * runs those very code blocks (read from the page, not copied here) against a notification the app
 * signed and delivered, so the page cannot show a snippet that does not work.
 */
const SECRET = 'whsec_docs_0123456789abcdefghijklmnopqrstuvwxyz';
const PAGE = join(import.meta.dirname, '..', 'docs', 'notifications.md');

/** The fenced block right after `<!-- snippet: <name> … -->` on the page. */
function snippet(name: string): string {
  const page = readFileSync(PAGE, 'utf8');
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(page);
  if (!match) throw new Error(`docs/notifications.md has no snippet ${name}`);
  return match[1];
}

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('python3 not found: the Python snippet of docs/notifications.md is not run (apt-get install -y python3)');

describe('docs/notifications.md: the verification snippets verify a real notification', () => {
  const fake = new FakeAtlassian();
  const receiver = new NotificationReceiver();
  let t: TestApp;
  let dir: string;
  let delivered: ReceivedNotification;

  beforeAll(async () => {
    await fake.start();
    await receiver.start();
    t = await createTestApp({
      env: { ...fake.env(), NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_POLL_INTERVAL_MS: '50' },
    });
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await receiver.waitFor(() => receiver.ofTeam(m.teamId).some((r) => r.body.type === 'connected'), 'the connected notification');
    delivered = receiver.ofTeam(m.teamId).find((r) => r.body.type === 'connected') as ReceivedNotification;

    dir = mkdtempSync(join(tmpdir(), 'jc-snippets-'));
    writeFileSync(join(dir, 'verify.mjs'), snippet('verify-node'));
    writeFileSync(join(dir, 'run.mjs'), [
      "import { readFileSync } from 'node:fs';",
      "import { verify } from './verify.mjs';",
      "const c = JSON.parse(readFileSync(0, 'utf8'));",
      "console.log(verify(c.secret, Buffer.from(c.raw, 'utf8'), c.timestamp, c.signature) ? 'valid' : 'invalid');",
    ].join('\n'));
    writeFileSync(join(dir, 'verify.py'), `${snippet('verify-python')}\n\nif __name__ == "__main__":\n    import json, sys\n    c = json.load(sys.stdin)\n    print("valid" if verify(c["secret"], c["raw"].encode("utf-8"), c["timestamp"], c["signature"]) else "invalid")\n`);
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
    await fake.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const header = (name: keyof typeof NOTIFICATION_HEADERS) => String(delivered.headers[NOTIFICATION_HEADERS[name]]);
  const asDelivered = () => ({ secret: SECRET, raw: delivered.raw, timestamp: header('timestamp'), signature: header('signature') });
  const run = (language: 'node' | 'python', c: { secret: string; raw: string; timestamp: string; signature: string }) =>
    execFileSync(language === 'node' ? process.execPath : 'python3', [join(dir, language === 'node' ? 'run.mjs' : 'verify.py')],
      { input: JSON.stringify(c), encoding: 'utf8', timeout: 20_000 }).trim();

  /** The same body signed again, as the sender would have signed it `ageSeconds` ago. */
  const signedAgo = (ageSeconds: number) => {
    const timestamp = Math.floor(Date.now() / 1000) - ageSeconds;
    return { ...asDelivered(), timestamp: String(timestamp), signature: signNotification(SECRET, timestamp, delivered.raw) };
  };

  describe.each(['node', 'python'] as const)('%s', (language) => {
    it.skipIf(language === 'python' && !hasPython)('accepts the notification as delivered', () => {
      expect(delivered.body.type).toBe('connected');
      expect(run(language, asDelivered())).toBe('valid');
    });

    it.skipIf(language === 'python' && !hasPython)('refuses a changed body, another secret, a missing signature and an old timestamp', () => {
      expect(run(language, { ...asDelivered(), raw: delivered.raw.replace('"connected"', '"disconnected"') })).toBe('invalid');
      expect(run(language, { ...asDelivered(), secret: `${SECRET}-other` })).toBe('invalid');
      expect(run(language, { ...asDelivered(), signature: '' })).toBe('invalid');
      expect(run(language, signedAgo(60))).toBe('valid');
      expect(run(language, signedAgo(301))).toBe('invalid');
    });
  });
});

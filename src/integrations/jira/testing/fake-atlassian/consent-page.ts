import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeAccount } from './fake-atlassian.js';

/*
 * The consent screen of the fake Atlassian (used by `npm run sandbox` and the browser tests; the
 * other tests auto-approve). Like auth.atlassian.com it names the app, the account, the sites the
 * app will reach and the scopes, and offers Accept and Decline. Accept redirects with a code,
 * Decline with `error=access_denied`.
 */

export type ConsentDecision = 'accept' | 'decline';

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const SCOPE_TEXT: Record<string, string> = {
  'read:jira-user': 'View user profiles (Jira)',
  'read:jira-work': 'View Jira issue data',
  'write:jira-work': 'Create and manage issues (Jira)',
  'read:me': 'View your profile',
  offline_access: 'Keep access while you are not using the app (refresh tokens)',
};

export function sendConsentPage(res: ServerResponse, authorizeUrl: URL, account: FakeAccount, clientId: string): void {
  const scopes = (authorizeUrl.searchParams.get('scope') ?? '').split(' ').filter(Boolean);
  const action = `/authorize${authorizeUrl.search}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atlassian (sandbox): authorize app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; background: #f4f5f7; color: #172b4d; margin: 0; }
  main { max-width: 460px; margin: 40px auto; background: #fff; border-radius: 6px; padding: 28px 32px; box-shadow: 0 1px 3px #0003; }
  .brand { color: #0052cc; font-weight: 700; letter-spacing: .02em; }
  .note { font-size: 12px; color: #6b778c; }
  h1 { font-size: 20px; margin: 14px 0 6px; }
  ul { padding-left: 20px; }
  .account { background: #f4f5f7; border-radius: 4px; padding: 8px 12px; }
  .buttons { display: flex; gap: 10px; justify-content: flex-end; margin-top: 22px; }
  button { font: inherit; border: 0; border-radius: 3px; padding: 7px 16px; cursor: pointer; }
  #accept { background: #0052cc; color: #fff; }
  #decline { background: #ebecf0; color: #42526e; }
</style></head>
<body><main>
  <div class="brand">ATLASSIAN <span class="note">local sandbox: not the real auth.atlassian.com</span></div>
  <h1>App <code>${escape(clientId)}</code> is requesting access to your Atlassian account</h1>
  <p class="account">Signed in as <strong>${escape(account.name)}</strong> (${escape(account.email)})</p>
  <p>It will be able to use these sites:</p>
  <ul id="sites">${account.sites.map((s) => `<li>${escape(s.name)} <span class="note">${escape(s.url)}</span></li>`).join('')}</ul>
  <p>It is asking to:</p>
  <ul id="scopes">${scopes.map((s) => `<li>${escape(SCOPE_TEXT[s] ?? s)} <span class="note">${escape(s)}</span></li>`).join('')}</ul>
  <form method="post" action="${escape(action)}" class="buttons">
    <button id="decline" name="decision" value="decline">Decline</button>
    <button id="accept" name="decision" value="accept">Accept</button>
  </form>
</main></body></html>`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/** The Accept / Decline form post (`decision=accept|decline`, urlencoded); null if neither. */
export async function readConsentDecision(req: IncomingMessage): Promise<ConsentDecision | null> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > 4096) return null;
  }
  const decision = new URLSearchParams(body).get('decision');
  return decision === 'accept' || decision === 'decline' ? decision : null;
}

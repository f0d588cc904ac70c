import { describe, expect, it } from 'vitest';
import { mintOutcome, refreshOutcome, type RefreshNext, type TokenCallResult } from './refresh-outcome.js';

const http = (status: number, oauthError?: string, tokenUsable = false): TokenCallResult => ({ kind: 'http', status, oauthError, tokenUsable });

/** [row, result, may Atlassian have rotated?, what follows, rate limited?] */
const TABLE: [string, TokenCallResult, boolean, RefreshNext, boolean][] = [
  ['no connection (refused, DNS): nothing was sent', { kind: 'no_connection' }, false, 'retry', false],
  ['connection reset after the request was sent', { kind: 'connection_lost' }, true, 'retry', false],
  ['our total deadline passed', { kind: 'deadline' }, true, 'retry', false],
  ['200 with an access token', http(200, undefined, true), true, 'store', false],
  ['200 without an access token', http(200), true, 'retry', false],
  ['200 with a cut-off / unparsable body', http(200), true, 'retry', false],
  ['500', http(500), true, 'retry', false],
  ['502 from the edge (HTML)', http(502), true, 'retry', false],
  ['503 with an OAuth-looking body (5xx is never definite)', http(503, 'server_error'), true, 'retry', false],
  ['504 HTML page', http(504), true, 'retry', false],
  ['408 without an OAuth error', http(408), true, 'retry', false],
  ['408 with an OAuth error', http(408, 'temporarily_unavailable'), false, 'retry', false],
  ['429 without an OAuth error', http(429), true, 'retry', true],
  ['429 with an OAuth error', http(429, 'rate_limited'), false, 'retry', true],
  ['400 invalid_grant', http(400, 'invalid_grant'), false, 'reauthorize', false],
  ['403 invalid_grant (what Atlassian sends)', http(403, 'invalid_grant'), false, 'reauthorize', false],
  ['401 invalid_client', http(401, 'invalid_client'), false, 'client_rejected', false],
  ['401 access_denied (wrong client secret)', http(401, 'access_denied'), false, 'client_rejected', false],
  ['400 unauthorized_client', http(400, 'unauthorized_client'), false, 'client_rejected', false],
  ['400 invalid_request (other 4xx with an OAuth error)', http(400, 'invalid_request'), false, 'rejected', false],
  ['400 unsupported_grant_type', http(400, 'unsupported_grant_type'), false, 'rejected', false],
  ['403 without an OAuth error (a WAF page)', http(403), true, 'retry', false],
  ['404 without an OAuth error', http(404), true, 'retry', false],
  ['401 without an OAuth error', http(401), true, 'retry', false],
  ['302 redirect', http(302), true, 'retry', false],
];

describe('refreshOutcome: the token endpoint outcome table', () => {
  it.each(TABLE)('%s', (_row, result, mayHaveRotated, next, rateLimited) => {
    expect(refreshOutcome(result)).toEqual({ mayHaveRotated, next, rateLimited });
  });

  it('only new tokens or a 4xx with an OAuth error are definite', () => {
    for (const [, result, mayHaveRotated, next] of TABLE) {
      const definite = next === 'store' || (result.kind === 'http' && result.status >= 400 && result.status < 500 && result.oauthError !== undefined);
      expect(!mayHaveRotated || next === 'store').toBe(definite || result.kind === 'no_connection');
    }
  });
});

/** [row, result, what follows, rate limited?]: a mint never "may have rotated" (nothing to lose). */
const MINT_TABLE: [string, TokenCallResult, RefreshNext, boolean][] = [
  ['no connection: nothing was sent', { kind: 'no_connection' }, 'retry', false],
  ['connection reset after sending: unknown, simply minted again', { kind: 'connection_lost' }, 'retry', false],
  ['our total deadline passed: unknown, simply minted again', { kind: 'deadline' }, 'retry', false],
  ['200 with an access token', http(200, undefined, true), 'store', false],
  ['200 without an access token', http(200), 'retry', false],
  ['500', http(500), 'retry', false],
  ['503 with an OAuth-looking body', http(503, 'server_error'), 'retry', false],
  ['429 without an OAuth error', http(429), 'retry', true],
  ['401 invalid_client: the credential is gone (deleted or secret rotated)', http(401, 'invalid_client'), 'reauthorize', false],
  ['401 access_denied: wrong secret', http(401, 'access_denied'), 'reauthorize', false],
  ['400 unauthorized_client', http(400, 'unauthorized_client'), 'reauthorize', false],
  ['403 invalid_grant', http(403, 'invalid_grant'), 'reauthorize', false],
  ['400 invalid_scope (other 4xx with an OAuth error)', http(400, 'invalid_scope'), 'rejected', false],
  ['403 without an OAuth error (a WAF page)', http(403), 'retry', false],
  ['401 without an OAuth error', http(401), 'retry', false],
];

describe('mintOutcome: the same table for a service account\'s client-credentials mint', () => {
  it.each(MINT_TABLE)('%s', (_row, result, next, rateLimited) => {
    expect(mintOutcome(result)).toEqual({ mayHaveRotated: false, next, rateLimited });
  });

  it('differs from a refresh only in rotation and in what a refused client means', () => {
    for (const [, result] of TABLE) {
      const refresh = refreshOutcome(result);
      const mint = mintOutcome(result);
      expect(mint.mayHaveRotated).toBe(false);
      expect(mint.next).toBe(refresh.next === 'client_rejected' ? 'reauthorize' : refresh.next);
    }
  });
});

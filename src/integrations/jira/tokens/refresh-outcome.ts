/*
 * The outcome table of a call to Atlassian's token endpoint: for every way such a call can end,
 * whether Atlassian may have rotated the refresh token we presented, and what follows. The
 * gateway describes what happened (TokenCallResult); everything else reads this one function.
 *
 * The rule that keeps grants alive: only an answer we can read proves what Atlassian did. New
 * tokens prove a rotation; a 4xx carrying an OAuth error (`{"error": "..."}`) proves it refused
 * the request. Anything else (no answer, a cut-off or unparsable answer, an edge's 5xx/408/429
 * page, a 4xx without an OAuth error) may have come after Atlassian rotated, so the presented
 * refresh token stays marked "in flight" and is presented again inside the reuse leeway.
 *
 * A service account's mint (grant_type=client_credentials, mintOutcome below) reads the same
 * table with two differences: there is no refresh token to lose, so no outcome is ever "may have
 * rotated" (an unknown one is simply minted again later), and the credential is the grant, so a
 * refused client id/secret ends the connection (reauthorization_required) instead of being an
 * operator problem with the app's own credentials.
 */

/** What one token-endpoint call came to, as the gateway saw it (never a token or a body). */
export type TokenCallResult =
  /** The connection was never made (refused, DNS): nothing was sent. */
  | { kind: 'no_connection' }
  /** The connection broke after the request went out (reset, hang-up, cut-off body). */
  | { kind: 'connection_lost' }
  /** Our total deadline passed before the whole answer arrived. */
  | { kind: 'deadline' }
  /** An HTTP answer. `tokenUsable`: a 2xx whose JSON body carries an access token. */
  | { kind: 'http'; status: number; oauthError?: string; tokenUsable: boolean };

/**
 * What to do next:
 * - `store`: new tokens, store them (the only way the in-flight marker ends in success);
 * - `retry`: transient; try again while the lease and the caller's deadline allow;
 * - `reauthorize`: the presented refresh token is dead (invalid_grant): wipe and ask to reconnect;
 * - `client_rejected`: our client credentials were refused: an operator problem, tokens kept;
 * - `rejected`: Atlassian refused the request for another stated reason: no retry, tokens kept.
 */
export type RefreshNext = 'store' | 'retry' | 'reauthorize' | 'client_rejected' | 'rejected';

export interface RefreshOutcomeVerdict {
  /** Atlassian may have rotated the presented refresh token without us learning the new one. */
  mayHaveRotated: boolean;
  next: RefreshNext;
  /** 429: the caller is told atlassian_rate_limited rather than atlassian_unavailable. */
  rateLimited: boolean;
}

/** OAuth error codes that mean "your client id/secret (or its redirect URI) was refused". */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'access_denied']);

const verdict = (mayHaveRotated: boolean, next: RefreshNext, rateLimited = false): RefreshOutcomeVerdict =>
  ({ mayHaveRotated, next, rateLimited });

/** The outcome table (docs/tokens.md, "The outcome table"; row-by-row tests in refresh-outcome.spec.ts). */
export function refreshOutcome(result: TokenCallResult): RefreshOutcomeVerdict {
  switch (result.kind) {
    case 'no_connection': return verdict(false, 'retry');
    case 'connection_lost': return verdict(true, 'retry');
    case 'deadline': return verdict(true, 'retry');
    case 'http': break;
  }
  const { status, oauthError, tokenUsable } = result;
  if (status >= 200 && status < 300) return tokenUsable ? verdict(true, 'store') : verdict(true, 'retry');
  // Only a 4xx carrying a parsed OAuth error is a definite refusal.
  const definite = status >= 400 && status < 500 && oauthError !== undefined;
  if (status === 429 || status === 408) return verdict(!definite, 'retry', status === 429);
  if (!definite) return verdict(true, 'retry');
  if (oauthError === 'invalid_grant') return verdict(false, 'reauthorize');
  if (CLIENT_ERRORS.has(oauthError!)) return verdict(false, 'client_rejected');
  return verdict(false, 'rejected');
}

/** The outcome table of a client-credentials mint (row-by-row tests beside the refresh rows). */
export function mintOutcome(result: TokenCallResult): RefreshOutcomeVerdict {
  const v = refreshOutcome(result);
  return verdict(false, v.next === 'client_rejected' ? 'reauthorize' : v.next, v.rateLimited);
}

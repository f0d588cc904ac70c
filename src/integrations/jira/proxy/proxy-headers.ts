/** The response header that marks an answer jira-connect made itself (its problem JSON), never Jira's. */
export const PROXY_PROBLEM_HEADER = 'X-Jira-Connect-Problem';

/**
 * Request headers passed on to Jira; everything else (the caller's Authorization, cookies,
 * X-Team-Id, X-Forwarded-*, Forwarded, Origin, Referer, ...) stays here. Accept-Encoding is passed so
 * Jira's compressed body reaches a client that asked for it, untouched.
 */
const FORWARDED_REQUEST = new Set(['content-type', 'accept', 'accept-language', 'accept-encoding', 'x-atlassian-token']);

/**
 * Response headers passed back from Jira: what describes the body, caching, Jira's request id
 * and its rate-limit headers. Hop-by-hop headers, Set-Cookie and everything else are dropped.
 */
const RETURNED_RESPONSE = new Set([
  'content-type', 'content-length', 'content-encoding', 'content-language', 'content-disposition', 'content-range',
  'etag', 'last-modified', 'cache-control', 'expires', 'vary', 'location', 'retry-after', 'beta-retry-after',
  'x-arequestid', 'atl-traceid',
]);
const RATE_LIMIT_HEADER = /^(x-)?(beta-)?ratelimit(-|$)/;

type IncomingHeaders = Record<string, string | string[] | undefined>;

/** The caller's headers Jira gets (lower-case names); Authorization is the gateway's to add. */
export function forwardedRequestHeaders(headers: IncomingHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (!FORWARDED_REQUEST.has(key) || value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Without the caller's preference, ask for an identity body rather than one the client cannot read.
  out['accept-encoding'] ??= 'identity';
  return out;
}

/** Jira's headers the caller gets back. */
export function returnedResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (RETURNED_RESPONSE.has(key) || RATE_LIMIT_HEADER.test(key)) out[key] = value;
  }
  return out;
}

import type { IncomingMessage } from 'node:http';

/**
 * The request path after `marker` (the proxy route's own prefix), still encoded as sent, without
 * the query string: `/api/integrations/jira/proxy/rest/api/3/myself?x=1` → `/rest/api/3/myself`.
 * The first occurrence is the route's, as the router matched the prefix from the start.
 */
export function rawPathAfter(originalUrl: string, marker: string | RegExp): string {
  const path = originalUrl.split('?')[0];
  if (typeof marker !== 'string') {
    const m = marker.exec(path);
    return m ? path.slice(m.index + m[0].length) : '';
  }
  const at = path.indexOf(`${marker}/`);
  return at === -1 ? '' : path.slice(at + marker.length);
}

/** The admin proxy's prefix, up to the `/jira` after the team id. */
export const ADMIN_PROXY_MARKER = /\/teams\/[^/]+\/jira(?=\/)/;

/** The standalone server's proxy routes, whose bodies no body parser may read (they stream to Jira). */
const PROXY_ROUTE = /^\/api\/(integrations\/jira\/proxy|admin\/teams\/[^/?]+\/jira)\//;

export const isJiraProxyRequest = (req: IncomingMessage): boolean => PROXY_ROUTE.test(req.url ?? '');

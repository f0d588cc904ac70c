/**
 * The Jira path a proxy request names, decoded exactly once, checked and rebuilt, so that what
 * goes out is `/ex/jira/{the team's cloudId}` + a path made only of plain segments under /rest/.
 */
export type JiraPathResult =
  | { ok: true; segments: string[]; path: string }
  | { ok: false; reason: string };

const invalid = (reason: string): JiraPathResult => ({ ok: false, reason });

/** Characters a decoded segment may hold. `%` is refused: after one decode it means double encoding. */
const SEGMENT = /^[\p{L}\p{N}._~@:+,;=!$'()-]+$/u;

/**
 * `raw` is the request target's path after the proxy's own prefix, still percent-encoded as the
 * client sent it, starting with `/`. It is decoded once as a whole (so `%2F` separates segments,
 * as a generated client encodes the `jiraPath` parameter), then split and checked. Refused (with a reason for the problem's detail): dot
 * segments (`.`/`..`, also as `%2e` or double-encoded `%252e`), backslashes (raw or encoded),
 * empty segments (`//`), anything that does not decode as UTF-8, characters outside a plain
 * segment's (`%`, `?`, `#`, `/` decoded from `%2f`, controls, spaces), and anything not under
 * `/rest/`. An absolute URL (`http://host/...`, `//host`, `http:%2f%2fhost`) fails on its empty
 * segment, its decoded `/` or its first segment. The rebuilt path encodes every segment again.
 */
export function parseJiraPath(raw: string): JiraPathResult {
  if (!raw.startsWith('/')) return invalid('The Jira path must start with /rest/.');
  let decoded: string;
  try {
    // Once, for the whole path: a generated client sends `rest%2Fapi%2F3%2Fmyself` for the path parameter.
    decoded = decodeURIComponent(raw);
  } catch {
    return invalid('The Jira path is not valid percent-encoded UTF-8.');
  }
  if (decoded.includes('\\')) return invalid('Backslashes are not allowed in the Jira path.');
  const segments = decoded.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return invalid('Empty path segments (//) are not allowed in the Jira path.');
    if (segment === '.' || segment === '..') return invalid('Dot segments (. and ..) are not allowed in the Jira path.');
    if (segment.includes('%')) return invalid('Percent signs after decoding (double encoding) are not allowed in the Jira path.');
    if (!SEGMENT.test(segment)) return invalid(`The Jira path segment "${encodeURIComponent(segment)}" holds characters a Jira REST path does not use.`);
  }
  if (segments[0] !== 'rest' || segments.length < 2) return invalid('The proxy reaches only Jira\'s REST API: the path must start with /rest/.');
  return { ok: true, segments, path: `/${segments.map(encodeSegment).join('/')}` };
}

/** Like encodeURIComponent, but leaves the sub-delimiters Jira paths use (`:` `@` `,` ...) readable. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(3A|40|2C|3B|3D|21|24|27|28|29|2B)/gi, (m) => decodeURIComponent(m));
}

/**
 * The query string exactly as sent (without `?`), or null when it holds what no query string
 * should (a `#`, or control characters and spaces that a raw request line could carry).
 */
export function checkedQuery(rawQuery: string): string | null {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return /[\s#\u0000-\u001f\u007f]/.test(rawQuery) ? null : rawQuery;
}

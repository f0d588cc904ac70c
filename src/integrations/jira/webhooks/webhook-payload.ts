/*
 * What the receiver makes of a verified delivery's JSON before storing it: text PostgreSQL's
 * jsonb refuses is replaced (and the raw bytes kept beside it), and the site is read off every
 * `self` link. Pure functions; the inbox calls them.
 */

/** A lone surrogate (half of a UTF-16 pair without its other half). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** jsonb refuses `\u0000` and lone surrogates: both become U+FFFD, the replacement character. */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}

/**
 * `value` with every string and key made storable (storableText), and whether anything changed.
 * Recursive: only called on values already checked to be at most MAX_BODY_DEPTH deep.
 */
export function storableJson(value: unknown): { value: unknown; changed: boolean } {
  if (typeof value === 'string') {
    const text = storableText(value);
    return { value: text, changed: text !== value };
  }
  // JSON.parse turns 1e999 into Infinity, which PostgreSQL cannot take either: stored as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return { value: null, changed: true };
  if (value === null || typeof value !== 'object') return { value, changed: false };
  let changed = false;
  if (Array.isArray(value)) {
    const items = value.map((item) => {
      const r = storableJson(item);
      changed ||= r.changed;
      return r.value;
    });
    return { value: changed ? items : value, changed };
  }
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  const entries = Object.entries(value).map(([k, v]) => {
    const key = storableText(k);
    const r = storableJson(v);
    changed ||= r.changed || key !== k;
    return [key, r.value] as const;
  });
  return { value: changed ? Object.fromEntries(entries) : value, changed };
}

/** The one Jira site every `self` link of a payload names: its URL's origin, its cloud id, or both. */
export interface PayloadSite {
  origin: string | null;
  cloudId: string | null;
}

/**
 * The site named by every `self` link anywhere in the payload (issue, project, user, comment, ...):
 * each is either on a site URL (`https://x.atlassian.net/rest/...`) or on Atlassian's API gateway
 * for a cloud id (`<JIRA_API_BASE_URL>/ex/jira/<cloudId>/...`). Null when there is none, when one
 * is not such a URL, or when they name two sites: such a delivery is nobody's.
 */
export function payloadSite(payload: Record<string, unknown>, gatewayBaseUrl: string): PayloadSite | null {
  const gateway = new URL(gatewayBaseUrl).origin.toLowerCase();
  const origins = new Set<string>();
  const cloudIds = new Set<string>();
  const stack: unknown[] = [payload];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node)) {
      if (key !== 'self' || Array.isArray(node)) {
        stack.push(value);
        continue;
      }
      if (typeof value !== 'string' || !URL.canParse(value)) return null;
      const url = new URL(value);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      const viaGateway = /^\/ex\/jira\/([^/]+)\//.exec(url.pathname);
      if (url.origin.toLowerCase() === gateway) {
        if (!viaGateway) return null;
        cloudIds.add(decodeURIComponent(viaGateway[1]));
      } else {
        origins.add(url.origin.toLowerCase());
      }
    }
  }
  if (origins.size > 1 || cloudIds.size > 1 || origins.size + cloudIds.size === 0) return null;
  return { origin: [...origins][0] ?? null, cloudId: [...cloudIds][0] ?? null };
}

import { isUuid } from './uuid.js';

/** Longest id accepted, matching the `text` columns' CHECK in the opaque-ids migration. */
export const OPAQUE_ID_MAX_LENGTH = 255;

/*
 * Printable ASCII, no leading or trailing space: UUIDs, `auth0|abc`, `user_2x…`, `42`. Non-ASCII is
 * refused because HTTP headers carry Latin-1 at best and the same id must survive a header, a path
 * segment and a JWT claim unchanged.
 */
const OPAQUE_ID = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The product's id for a user or a team, normalized, or null when `value` is not one. Ids are
 * compared exactly, except UUIDs: they are lower-cased because the columns held them as `uuid`
 * before ids became opaque, so `ABC…` and `abc…` must keep naming the same team.
 */
export function parseOpaqueId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > OPAQUE_ID_MAX_LENGTH) return null;
  if (!OPAQUE_ID.test(value) || changesUrlPath(value)) return null;
  return isUuid(value) ? value.toLowerCase() : value;
}

/**
 * An id of only dots: `.` and `..` are removed or climb up when a URL is parsed, even encoded
 * (`%2e`), so such an id would name another path wherever it is substituted. Longer runs are
 * refused too, so the rule is one anyone can state.
 */
export function changesUrlPath(value: string): boolean {
  return /^\.+$/.test(value);
}

/** Shown in problem details next to a refused id. */
export const OPAQUE_ID_RULE = `1 to ${OPAQUE_ID_MAX_LENGTH} printable ASCII characters, without leading or trailing spaces, not only dots`;

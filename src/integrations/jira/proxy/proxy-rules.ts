import { TEAM_ROLES, type TeamRole } from '../teams/team-role.js';

/** The methods the proxies carry. */
export const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type ProxyMethod = (typeof PROXY_METHODS)[number];

/** What JIRA_PROXY_RULES allows unless set: read-only Jira platform and Jira Software (agile) REST. */
export const DEFAULT_SPA_PROXY_RULES = 'GET /rest/api/3/**, GET /rest/agile/1.0/**';
/** What JIRA_ADMIN_PROXY_RULES allows unless set: every method under /rest/. */
export const DEFAULT_ADMIN_PROXY_RULES = '* /rest/**';

/**
 * One `METHOD /path-pattern [role]` entry: `*` in the method position is any method; in the
 * pattern `*` is exactly one segment and `**` (last only) any rest, including none. The role is
 * the least one a team member needs (owner > admin > member); none = any member.
 */
export interface ProxyRule {
  methods: readonly ProxyMethod[];
  segments: readonly string[];
  minRole: TeamRole | null;
  /** The literal segments before the first wildcard: what the rule can ever reach. */
  prefix: readonly string[];
  source: string;
}

/** The verdict on one request: allowed, outside every rule's reach (400), or reachable but not allowed (403). */
export type RuleVerdict =
  | { kind: 'allowed'; rule: ProxyRule }
  | { kind: 'outside' }
  | { kind: 'forbidden'; reason: 'method' | 'role'; minRole?: TeamRole };

export class ProxyRuleError extends Error {}

/** A literal segment of a pattern: what a decoded, checked Jira path segment can be. */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~@:+,;=!$'()-]+$/;
const ROLE_RANK: Record<TeamRole, number> = { member: 0, admin: 1, owner: 2 };

function parseRule(entry: string, variable: string): ProxyRule {
  const words = entry.trim().split(/\s+/);
  const fail = (why: string): never => {
    throw new ProxyRuleError(`${variable}: "${entry.trim()}" ${why}. Write entries as "METHOD /rest/path/pattern [role]", e.g. "GET /rest/api/3/**".`);
  };
  if (words.length < 2 || words.length > 3) fail('is not "METHOD /path-pattern" with an optional role');
  const [method, pattern, role] = words;
  const upper = method.toUpperCase();
  let methods: readonly ProxyMethod[];
  if (upper === '*') methods = PROXY_METHODS;
  else if ((PROXY_METHODS as readonly string[]).includes(upper)) methods = [upper as ProxyMethod];
  else methods = fail(`names the method "${method}"; use one of ${PROXY_METHODS.join(', ')} or *`);
  if (!pattern.startsWith('/rest/')) fail('must start with /rest/ (the proxy reaches only Jira\'s REST space)');
  const segments = pattern.slice(1).split('/');
  for (const [i, s] of segments.entries()) {
    if (s === '**' && i !== segments.length - 1) fail('uses ** before the end of the pattern');
    if (s === '*' || s === '**') continue;
    if (s === '' ) fail('has an empty path segment');
    if (s === '.' || s === '..' || !LITERAL_SEGMENT.test(s)) fail(`has the segment "${s}" (letters, digits and -._~@:+,;=!$'() only, or * or **)`);
  }
  if (role !== undefined && !(TEAM_ROLES as readonly string[]).includes(role)) fail(`names the role "${role}"; use one of ${TEAM_ROLES.join(', ')}`);
  const wildcard = segments.findIndex((s) => s === '*' || s === '**');
  return {
    methods,
    segments,
    minRole: (role as TeamRole | undefined) ?? null,
    prefix: wildcard === -1 ? segments : segments.slice(0, wildcard),
    source: entry.trim(),
  };
}

/**
 * The rules in a JIRA_PROXY_RULES-style value: entries separated by commas or new lines. An
 * empty value allows nothing (every call is refused). Throws ProxyRuleError naming the variable
 * and the entry, so a bad value stops start-up.
 */
export function parseProxyRules(value: string, variable = 'JIRA_PROXY_RULES'): ProxyRule[] {
  return value.split(/[,\n]/).map((e) => e.trim()).filter((e) => e !== '' && !e.startsWith('#')).map((e) => parseRule(e, variable));
}

function matchesPattern(pattern: readonly string[], path: readonly string[]): boolean {
  for (const [i, p] of pattern.entries()) {
    if (p === '**') return true;
    if (i >= path.length) return false;
    if (p !== '*' && p !== path[i]) return false;
  }
  return pattern.length === path.length;
}

const startsWith = (path: readonly string[], prefix: readonly string[]): boolean =>
  prefix.length <= path.length && prefix.every((s, i) => s === path[i]);

/**
 * Which rule lets `role` (null: no team role, the admin proxy) send `method` to `segments` (the
 * decoded, checked path). A path no rule's literal prefix covers is `outside`: the caller asked
 * for something the proxy never reaches. The role test uses owner > admin > member.
 */
export function matchProxyRule(rules: readonly ProxyRule[], method: string, segments: readonly string[], role: TeamRole | null): RuleVerdict {
  if (!rules.some((r) => startsWith(segments, r.prefix))) return { kind: 'outside' };
  const matching = rules.filter((r) => matchesPattern(r.segments, segments) && (r.methods as readonly string[]).includes(method));
  if (matching.length === 0) return { kind: 'forbidden', reason: 'method' };
  const allowed = matching.find((r) => r.minRole === null || role === null || ROLE_RANK[role] >= ROLE_RANK[r.minRole]);
  if (allowed) return { kind: 'allowed', rule: allowed };
  const least = matching.reduce((a, b) => (ROLE_RANK[a.minRole!] <= ROLE_RANK[b.minRole!] ? a : b));
  return { kind: 'forbidden', reason: 'role', minRole: least.minRole! };
}

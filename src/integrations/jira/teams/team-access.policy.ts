import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TEAM_ROLES, type TeamRole } from './team-role.js';

/** The problem code of a policy that cannot answer (503): never treated as access granted. */
export const TEAM_ACCESS_UNAVAILABLE = 'team_access_unavailable';

/** The verified bearer token's claims, as BearerAuthGuard put them on the request. */
export type TokenClaims = Readonly<Record<string, unknown>>;

/**
 * Decides what a user may do in a team. Chosen by TEAM_ACCESS_POLICY: `table` (below), `claims`
 * (src/teams/claims-team-access.policy.ts) or `http` (src/teams/http-team-access.policy.ts, both the
 * standalone server's); a host application with its own membership model provides another
 * implementation under this token.
 */
export abstract class TeamAccessPolicy {
  /**
   * False when roleOf can only answer from the user's token claims. The OAuth callback, which
   * arrives without the token, then relies on the check made at authorize (at most 10 minutes
   * earlier) instead of asking again.
   */
  readonly answersWithoutToken: boolean = true;

  /**
   * True when every membership change goes through this service (the admin API's member routes),
   * so it can tell that the user who connected Jira left the team. False: membership lives
   * elsewhere (token claims, the product's endpoint) and status reports `isMember: null`.
   */
  readonly seesMembershipChanges: boolean = false;

  /**
   * The user's role in the team, or null when they are not a member (or the team does not exist).
   * `claims` are the verified token's, when there is a token. Throw (e.g. 503) when the answer
   * cannot be had: never guess access.
   */
  abstract roleOf(teamId: string, userId: string, claims?: TokenClaims): Promise<TeamRole | null>;
}

export const isTeamRole = (value: unknown): value is TeamRole =>
  typeof value === 'string' && (TEAM_ROLES as readonly string[]).includes(value);

/** A role as the product names it, mapped through AUTH_ROLE_MAP; our own names pass as they are. */
export function mapRole(value: unknown, roleMap: ReadonlyMap<string, TeamRole>): TeamRole | null {
  if (typeof value !== 'string') return null;
  return roleMap.get(value) ?? (isTeamRole(value) ? value : null);
}

/** TEAM_ACCESS_POLICY=table (default): the `team_members` table (filled by the admin API or the CLI). */
@Injectable()
export class TableTeamAccessPolicy extends TeamAccessPolicy {
  override readonly seesMembershipChanges = true;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    // Raw: every team request's check (the proxy's too); the query builder's form measured 279 µs against 185 µs raw (median of 8 × 2000, local PostgreSQL).
    const rows: { role: string }[] = await this.dataSource.query('SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId]);
    const role = rows[0]?.role;
    return isTeamRole(role) ? role : null;
  }
}

/**
 * The module's own token for the host's team-access port (its `teamAccessPolicy` option). Not the
 * TeamAccessPolicy class, which a host may provide itself: its forRootAsync factory can then inject
 * the host's own policy without meeting the module's.
 */
export const JIRA_TEAM_ACCESS = 'JIRA_INTEGRATION_TEAM_ACCESS';

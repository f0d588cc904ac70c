import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { ensureTeamAndUserRows } from '../../../teams/directory-rows.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';

/** How long a user has between `authorize` and the callback. */
export const STATE_TTL_MS = 10 * 60_000;
/** Consumed and expired states are kept this long (to tell a replay from a forgery), then purged. */
const STATE_RETENTION_MS = 24 * 60 * 60_000;
const COOKIE_PREFIX = 'jc_jira_oauth_';

export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export interface IssuedState {
  /** Sent to Atlassian; only its hash is stored. */
  state: string;
  /** Binding cookie name and value; only the value's hash is stored. */
  cookieName: string;
  cookieValue: string;
  expiresAt: Date;
}

export interface ConsumedState {
  teamId: string;
  userId: string;
  siteHint: string | null;
  returnTo: string | null;
}

/**
 * The binding cookie's name carries a prefix of the state hash, so two flows running in the same
 * browser (two tabs, two teams) each keep their own cookie. The name reveals nothing secret.
 */
export function bindingCookieName(state: string): string {
  return COOKIE_PREFIX + sha256(state).slice(0, 16);
}

const fail = (code: JiraErrorCode, status: HttpStatus, title: string, detail: string): JiraError =>
  new JiraError(code, status, title, detail);

/**
 * OAuth `state` values: 256 random bits, stored only as SHA-256 hashes, bound to the initiating
 * user, team and browser (binding cookie), valid for 10 minutes and consumed at most once.
 */
@Injectable()
export class OAuthStateStore {
  private readonly logger = new Logger(OAuthStateStore.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async issue(input: { teamId: string; userId: string; siteHint: string | null; returnTo: string | null }): Promise<IssuedState> {
    const state = randomBytes(32).toString('base64url');
    const cookieValue = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
    // Housekeeping for this team only, so one query never scans everyone's rows.
    await this.dataSource.query('DELETE FROM jira_oauth_states WHERE team_id = $1 AND expires_at < $2', [
      input.teamId, new Date(now.getTime() - STATE_RETENTION_MS),
    ]);
    await ensureTeamAndUserRows(this.dataSource, input.teamId, input.userId);
    await this.dataSource.query(
      `INSERT INTO jira_oauth_states (state_hash, team_id, user_id, binding_hash, site_hint, return_to, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [sha256(state), input.teamId, input.userId, sha256(cookieValue), input.siteHint, input.returnTo, expiresAt, now],
    );
    return { state, cookieName: bindingCookieName(state), cookieValue, expiresAt };
  }

  /**
   * Hourly, every instance: deletes states past their retention. Authorize already tidies its own
   * team; this catches teams that never come back. Idempotent, so instances may overlap.
   */
  @Cron(CronExpression.EVERY_HOUR, { name: 'jira-oauth-state-purge' })
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.clock.nowMs() - STATE_RETENTION_MS);
    const [, deleted] = (await this.dataSource.query('DELETE FROM jira_oauth_states WHERE expires_at < $1', [cutoff])) as [unknown, number];
    if (deleted > 0) this.logger.log({ deleted }, 'expired OAuth states purged');
    return deleted;
  }

  /**
   * Consumes the state in one conditional UPDATE (exists, unexpired, unused, and bound to this
   * browser), so two concurrent callbacks cannot both win. A callback whose binding cookie is
   * missing or foreign does not consume the state: a stolen callback URL replayed elsewhere must
   * not burn the victim's flow. Every rejection throws a distinct code and changes nothing.
   */
  async consume(state: string, cookieValue: string | undefined): Promise<ConsumedState> {
    const stateHash = sha256(state);
    const now = this.clock.now();
    if (cookieValue) {
      const [rows] = (await this.dataSource.query(
        `UPDATE jira_oauth_states SET consumed_at = $3
          WHERE state_hash = $1 AND binding_hash = $2 AND consumed_at IS NULL AND expires_at > $3
          RETURNING team_id, user_id, site_hint, return_to`,
        [stateHash, sha256(cookieValue), now],
      )) as [{ team_id: string; user_id: string; site_hint: string | null; return_to: string | null }[], number];
      const row = rows[0];
      if (row) return { teamId: row.team_id, userId: row.user_id, siteHint: row.site_hint, returnTo: row.return_to };
    }
    throw await this.whyRejected(stateHash, cookieValue, now);
  }

  private async whyRejected(stateHash: string, cookieValue: string | undefined, now: Date): Promise<JiraError> {
    const rows = (await this.dataSource.query(
      'SELECT binding_hash, consumed_at, expires_at FROM jira_oauth_states WHERE state_hash = $1',
      [stateHash],
    )) as { binding_hash: string; consumed_at: Date | null; expires_at: Date | string }[];
    const row = rows[0];
    if (!row) {
      return fail(JiraErrorCode.StateInvalid, HttpStatus.BAD_REQUEST, 'Unknown OAuth state',
        'This link was not issued by us or is too old. Start connecting Jira again from the app.');
    }
    if (row.consumed_at) {
      return fail(JiraErrorCode.StateReplayed, HttpStatus.BAD_REQUEST, 'OAuth state already used',
        'This authorization was already completed. Check the connection status, or start again from the app.');
    }
    if (new Date(row.expires_at).getTime() <= now.getTime()) {
      return fail(JiraErrorCode.StateExpired, HttpStatus.BAD_REQUEST, 'OAuth state expired',
        'More than 10 minutes passed since you started connecting Jira. Start again from the app.');
    }
    if (!cookieValue) {
      return fail(JiraErrorCode.BindingMissing, HttpStatus.FORBIDDEN, 'Browser binding cookie missing',
        'Finish connecting Jira in the same browser you started in (with cookies enabled), or start again.');
    }
    return fail(JiraErrorCode.BindingMismatch, HttpStatus.FORBIDDEN, 'Started in another browser',
      'This authorization was started in a different browser. Start connecting Jira again from this one.');
  }
}

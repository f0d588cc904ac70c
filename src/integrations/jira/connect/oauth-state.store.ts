import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { IsNull, LessThan, MoreThan, type DataSource, type EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraOAuthState } from '../entities/jira-oauth-state.entity.js';
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
  /** The state row's id (not secret), to check at the end that the flow is still current. */
  flowId: string;
  teamId: string;
  userId: string;
  siteHint: string | null;
  returnTo: string | null;
}

/** Why a callback's state was refused, and where its browser should be sent. */
export interface StateRejection {
  ok: false;
  error: JiraError;
  /** The state exists (even used, expired or superseded): its flow's returnTo applies. */
  known: boolean;
  returnTo: string | null;
  teamId: string | null;
  /** The state can never succeed any more, so its binding cookie may be cleared. */
  final: boolean;
}

export type ConsumeResult = { ok: true; flow: ConsumedState } | StateRejection;

/** Serializes authorize (supersede) and callback completion per team, on any instance. */
async function lockTeamFlows(m: EntityManager, teamId: string): Promise<void> {
  // Raw: TypeORM has no form for PostgreSQL's advisory locks (a lock on the team's flows, not on a row).
  await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`jira_oauth_flow:${teamId}`]);
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

const superseded = (): JiraError => fail(JiraErrorCode.StateSuperseded, HttpStatus.CONFLICT, 'Replaced by a newer attempt',
  'Someone started connecting Jira for this team again after this attempt, so this one was cancelled. Check the connection status.');

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

  /**
   * Issues a new state and supersedes every earlier flow of the team (pending or still finishing
   * its callback), under the team's flow lock, so at most one flow per team can still succeed.
   */
  async issue(input: { teamId: string; userId: string; siteHint: string | null; returnTo: string | null }): Promise<IssuedState> {
    const state = randomBytes(32).toString('base64url');
    const cookieValue = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
    await this.dataSource.transaction(async (m) => {
      await lockTeamFlows(m, input.teamId);
      // Housekeeping for this team only, so one query never scans everyone's rows.
      await m.delete(JiraOAuthState, { teamId: input.teamId, expiresAt: LessThan(new Date(now.getTime() - STATE_RETENTION_MS)) });
      await m.update(JiraOAuthState, { teamId: input.teamId, supersededAt: IsNull() }, { supersededAt: now });
      await m.insert(JiraOAuthState, {
        stateHash: sha256(state), teamId: input.teamId, userId: input.userId, bindingHash: sha256(cookieValue),
        siteHint: input.siteHint, returnTo: input.returnTo, expiresAt, createdAt: now,
      });
    });
    return { state, cookieName: bindingCookieName(state), cookieValue, expiresAt };
  }

  /**
   * Runs `write` (the callback's final upsert) only if the flow was not superseded meanwhile, under
   * the team's flow lock: of two callbacks finishing at once for one team, at most one reports
   * success. A flow whose row is gone (the team disconnected meanwhile) counts as superseded.
   */
  async completeIfCurrent<T>(flow: ConsumedState, write: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      await lockTeamFlows(m, flow.teamId);
      const row = await m.findOne(JiraOAuthState, { select: { id: true, supersededAt: true }, where: { id: flow.flowId } });
      if (!row || row.supersededAt) throw superseded();
      return write(m);
    });
  }

  /**
   * Deletes states past their retention: hourly, a periodic job of the module's job runner
   * (scheduled by JiraOAuthService with Atlassian configured). Authorize already tidies its own
   * team; this catches teams that never come back. Idempotent, so runs may overlap.
   */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.clock.nowMs() - STATE_RETENTION_MS);
    const deleted = (await this.dataSource.getRepository(JiraOAuthState).delete({ expiresAt: LessThan(cutoff) })).affected ?? 0;
    if (deleted > 0) this.logger.log({ deleted, msg: 'expired OAuth states purged' });
    return deleted;
  }

  /**
   * Consumes the state in one conditional UPDATE (exists, unexpired, unused, not superseded, and
   * bound to this browser), so two concurrent callbacks cannot both win. A callback whose binding
   * cookie is missing or foreign does not consume the state: a stolen callback URL replayed
   * elsewhere must not burn the victim's flow. A rejection changes nothing and says whether the
   * state is known (its flow's returnTo) and whether it can never succeed any more (`final`).
   */
  async consume(state: string, cookieValue: string | undefined): Promise<ConsumeResult> {
    const stateHash = sha256(state);
    const now = this.clock.now();
    if (cookieValue) {
      const { raw } = await this.dataSource.createQueryBuilder().update(JiraOAuthState).set({ consumedAt: now })
        .where({ stateHash, bindingHash: sha256(cookieValue), consumedAt: IsNull(), supersededAt: IsNull(), expiresAt: MoreThan(now) })
        .returning('id, team_id, user_id, site_hint, return_to').execute();
      const row = (raw as { id: string; team_id: string; user_id: string; site_hint: string | null; return_to: string | null }[])[0];
      if (row) {
        return { ok: true, flow: { flowId: row.id, teamId: row.team_id, userId: row.user_id, siteHint: row.site_hint, returnTo: row.return_to } };
      }
    }
    return this.whyRejected(stateHash, cookieValue, now);
  }

  private async whyRejected(stateHash: string, cookieValue: string | undefined, now: Date): Promise<StateRejection> {
    const row = await this.dataSource.getRepository(JiraOAuthState).findOne({
      select: { id: true, teamId: true, returnTo: true, consumedAt: true, supersededAt: true, expiresAt: true }, where: { stateHash },
    });
    if (!row) {
      return { ok: false, known: false, final: true, teamId: null, returnTo: null, error: fail(JiraErrorCode.StateInvalid, HttpStatus.BAD_REQUEST,
        'Unknown OAuth state', 'This link was not issued by us or is too old. Start connecting Jira again from the app.') };
    }
    const known = { ok: false as const, known: true, teamId: row.teamId, returnTo: row.returnTo };
    if (row.consumedAt) {
      return { ...known, final: true, error: fail(JiraErrorCode.StateReplayed, HttpStatus.BAD_REQUEST, 'OAuth state already used',
        'This authorization was already completed. Check the connection status, or start again from the app.') };
    }
    if (row.supersededAt) return { ...known, final: true, error: superseded() };
    if (row.expiresAt.getTime() <= now.getTime()) {
      return { ...known, final: true, error: fail(JiraErrorCode.StateExpired, HttpStatus.BAD_REQUEST, 'OAuth state expired',
        'More than 10 minutes passed since you started connecting Jira. Start again from the app.') };
    }
    // Not final: the browser holding the right cookie can still finish this flow.
    if (!cookieValue) {
      return { ...known, final: false, error: fail(JiraErrorCode.BindingMissing, HttpStatus.FORBIDDEN, 'Browser binding cookie missing',
        'Finish connecting Jira in the same browser you started in (with cookies enabled), or start again.') };
    }
    return { ...known, final: false, error: fail(JiraErrorCode.BindingMismatch, HttpStatus.FORBIDDEN, 'Started in another browser',
      'This authorization was started in a different browser. Start connecting Jira again from this one.') };
  }
}

import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AppError } from '../integrations/jira/common/app-error.js';
import { Clock } from '../integrations/jira/common/clock.js';
import { removeIntegration } from '../integrations/jira/connect/jira-connection.service.js';
import type { JiraConnectionType, JiraIntegrationStatus } from '../integrations/jira/entities/jira-integration.entity.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../integrations/jira/jira.events.js';
import { consentedBefore, consentExpiresAt } from '../integrations/jira/lifecycle/consent.js';
import { NotificationOutbox } from '../integrations/jira/notifications/notification-outbox.js';
import { NotificationType } from '../integrations/jira/notifications/notification-types.js';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';
import { ensureTeamAndUser } from '../teams/teams.service.js';

export interface TeamDeletion {
  teamId: string;
  integrationDeleted: boolean;
  teamDeleted: boolean;
}

export interface IntegrationListItem {
  teamId: string;
  status: JiraIntegrationStatus;
  /** A user's 3LO grant or an organisation's service account (never its secret). */
  connectionType: JiraConnectionType;
  site: { cloudId: string; url: string | null; name: string | null } | null;
  connectedAt: Date | null;
  lastError: { code: string; at: Date | null } | null;
  accessTokenExpiresAt: Date | null;
  /** 365 days after the consent: the team must reconnect before then. */
  consentExpiresAt: Date | null;
  /** Who connected; `leftAt` is set once they stopped being a member of the team (table policy). */
  connectedBy: { userId: string | null; leftAt: Date | null };
}

export interface IntegrationFilter {
  status?: JiraIntegrationStatus;
  /** Only integrations whose consent expires before this instant. */
  consentExpiresBefore?: Date;
}

export interface IntegrationPage {
  items: IntegrationListItem[];
  nextCursor: string | null;
}

interface ListRow {
  team_id: string;
  status: JiraIntegrationStatus;
  connection_type: JiraConnectionType;
  cloud_id: string | null;
  site_url: string | null;
  site_name: string | null;
  connected_at: Date | string | null;
  last_error_code: string | null;
  last_error_at: Date | string | null;
  access_token_expires_at: Date | string | null;
  consented_at: Date | string | null;
  connected_by_user_id: string | null;
  connector_left_at: Date | string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/** The cursor is the last team id of a page, base64url'd so it reads as opaque and survives a query string. */
const encodeCursor = (teamId: string): string => Buffer.from(teamId, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const teamId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!teamId || encodeCursor(teamId) !== cursor) {
    throw new AppError('invalid_cursor', HttpStatus.BAD_REQUEST, 'Invalid cursor', 'Pass back the nextCursor of the previous page unchanged.');
  }
  return teamId;
}

/** What the product's backend may do service to service (see AdminController). */
@Injectable()
export class AdminService {
  private readonly logger = new Logger(AdminService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly modules: ModuleRef,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
  ) {}

  /** The Jira module's outbox, looked up across modules (the admin API does not import the Jira module). */
  private get outbox(): NotificationOutbox {
    return this.modules.get(NotificationOutbox, { strict: false });
  }

  /**
   * Deletes everything of the team: its integration and OAuth states (with a `disconnected`
   * notification if it was connected), memberships and the team row; other features' rows go by
   * foreign-key cascade or by listening to TeamDeleted. Idempotent.
   */
  async deleteTeam(teamId: string): Promise<TeamDeletion> {
    const { disconnected, teamDeleted } = await this.dataSource.transaction(async (em) => {
      const removed = await removeIntegration(em, this.outbox, teamId, 'team_deleted');
      await em.query('DELETE FROM team_members WHERE team_id = $1', [teamId]);
      const [, count] = (await em.query('DELETE FROM teams WHERE id = $1', [teamId])) as [unknown, number];
      return { disconnected: removed, teamDeleted: count > 0 };
    });
    if (disconnected) this.events.emit(JiraConnectionEvent.Disconnected, disconnected);
    const event: JiraConnectionEventPayload = { teamId, integrationId: disconnected?.integrationId ?? null, cloudId: disconnected?.cloudId ?? null };
    this.events.emit(JiraConnectionEvent.TeamDeleted, event);
    this.logger.log({ teamId, integrationDeleted: Boolean(disconnected), teamDeleted, msg: 'team deleted through the admin API' });
    return { teamId, integrationDeleted: Boolean(disconnected), teamDeleted };
  }

  /** Creates the team and the user when missing, then sets the role. A connector who comes back is a member again. */
  async putMember(teamId: string, userId: string, role: TeamRole): Promise<{ teamId: string; userId: string; role: TeamRole }> {
    await this.dataSource.transaction(async (em) => {
      await ensureTeamAndUser(em, teamId, userId);
      await em.query(
        `INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
        [teamId, userId, role],
      );
      await em.query(
        `UPDATE jira_integrations SET connector_left_at = NULL
          WHERE team_id = $1 AND connected_by_user_id = $2 AND connector_left_at IS NOT NULL`, [teamId, userId]);
    });
    return { teamId, userId, role };
  }

  /**
   * Idempotent; the user and the team stay. When the user connected the team's Jira, the
   * integration keeps working on their grant; it is marked (status: `connectedBy.isMember: false`)
   * and `connector_left` is recorded in the same transaction, so the product can ask someone to
   * reconnect. A service account does not work on its connector's grant: no connector_left for it.
   */
  async deleteMember(teamId: string, userId: string): Promise<{ removed: boolean; connectorLeft: boolean }> {
    return this.dataSource.transaction(async (em) => {
      const [, count] = (await em.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId])) as [unknown, number];
      if (count === 0) return { removed: false, connectorLeft: false };
      const [left] = (await em.query(
        `UPDATE jira_integrations SET connector_left_at = $3
          WHERE team_id = $1 AND connected_by_user_id = $2 AND connector_left_at IS NULL AND connection_type = 'oauth'
          RETURNING cloud_id, site_url, connector_left_at`, [teamId, userId, this.clock.now()])) as [{ cloud_id: string | null; site_url: string | null; connector_left_at: Date }[], number];
      if (left.length === 0) return { removed: true, connectorLeft: false };
      await this.outbox.enqueue(em, { type: NotificationType.ConnectorLeft, teamId,
        data: { userId, cloudId: left[0].cloud_id, siteUrl: left[0].site_url, leftAt: new Date(left[0].connector_left_at).toISOString() } });
      this.logger.log({ teamId, msg: 'the user who connected Jira left the team; the integration keeps working' });
      return { removed: true, connectorLeft: true };
    });
  }

  /** Keyset pagination by team id. Only these columns are read: no token ever leaves. */
  async listIntegrations(filter: IntegrationFilter, cursor: string | undefined, limit: number): Promise<IntegrationPage> {
    const after = cursor ? decodeCursor(cursor) : null;
    const consentedBeforeAt = filter.consentExpiresBefore ? consentedBefore(filter.consentExpiresBefore) : null;
    const rows = (await this.dataSource.query(
      `SELECT team_id, status, connection_type, cloud_id, site_url, site_name, connected_at, last_error_code, last_error_at, access_token_expires_at,
              consented_at, connected_by_user_id, connector_left_at
         FROM jira_integrations
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR team_id > $2)
          AND ($4::timestamptz IS NULL OR consented_at < $4)
        ORDER BY team_id LIMIT $3`,
      [filter.status ?? null, after, limit + 1, consentedBeforeAt],
    )) as ListRow[];
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        teamId: r.team_id,
        status: r.status,
        connectionType: r.connection_type,
        site: r.cloud_id ? { cloudId: r.cloud_id, url: r.site_url, name: r.site_name } : null,
        connectedAt: date(r.connected_at),
        lastError: r.last_error_code ? { code: r.last_error_code, at: date(r.last_error_at) } : null,
        accessTokenExpiresAt: date(r.access_token_expires_at),
        consentExpiresAt: consentExpiresAt(date(r.consented_at)),
        connectedBy: { userId: r.connected_by_user_id, leftAt: date(r.connector_left_at) },
      })),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].team_id) : null,
    };
  }
}

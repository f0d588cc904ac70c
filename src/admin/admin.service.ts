import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsNull, LessThan, MoreThan, Not, type DataSource } from 'typeorm';
import { AppError } from '../integrations/jira/common/app-error.js';
import { Clock } from '../integrations/jira/common/clock.js';
import { removeIntegration } from '../integrations/jira/connect/jira-connection.service.js';
import { JiraIntegration, type JiraConnectionType, type JiraIntegrationStatus } from '../integrations/jira/entities/jira-integration.entity.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../integrations/jira/jira.events.js';
import { consentedBefore, consentExpiresAt } from '../integrations/jira/lifecycle/consent.js';
import { NotificationOutbox } from '../integrations/jira/notifications/notification-outbox.js';
import { NotificationType } from '../integrations/jira/notifications/notification-types.js';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';
import { TeamMember } from '../teams/entities/team-member.entity.js';
import { Team } from '../teams/entities/team.entity.js';
import { ensureTeamAndUser, setMemberRole } from '../teams/teams.service.js';

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
      await em.delete(TeamMember, { teamId });
      const { affected } = await em.delete(Team, { id: teamId });
      return { disconnected: removed, teamDeleted: (affected ?? 0) > 0 };
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
      await setMemberRole(em, teamId, userId, role);
      await em.update(JiraIntegration, { teamId, connectedByUserId: userId, connectorLeftAt: Not(IsNull()) }, { connectorLeftAt: null });
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
      const { affected } = await em.delete(TeamMember, { teamId, userId });
      if (!affected) return { removed: false, connectorLeft: false };
      const leftAt = this.clock.now();
      const { raw } = await em.createQueryBuilder().update(JiraIntegration).set({ connectorLeftAt: leftAt })
        .where({ teamId, connectedByUserId: userId, connectorLeftAt: IsNull(), connectionType: 'oauth' })
        .returning('cloud_id, site_url').execute();
      const left = raw as { cloud_id: string | null; site_url: string | null }[];
      if (left.length === 0) return { removed: true, connectorLeft: false };
      await this.outbox.enqueue(em, { type: NotificationType.ConnectorLeft, teamId,
        data: { userId, cloudId: left[0].cloud_id, siteUrl: left[0].site_url, leftAt: leftAt.toISOString() } });
      this.logger.log({ teamId, msg: 'the user who connected Jira left the team; the integration keeps working' });
      return { removed: true, connectorLeft: true };
    });
  }

  /** Keyset pagination by team id. Only these columns are read: no token ever leaves. */
  async listIntegrations(filter: IntegrationFilter, cursor: string | undefined, limit: number): Promise<IntegrationPage> {
    const after = cursor ? decodeCursor(cursor) : null;
    const consentedBeforeAt = filter.consentExpiresBefore ? consentedBefore(filter.consentExpiresBefore) : null;
    const rows = await this.dataSource.getRepository(JiraIntegration).find({
      select: {
        id: true, teamId: true, status: true, connectionType: true, cloudId: true, siteUrl: true, siteName: true, connectedAt: true,
        lastErrorCode: true, lastErrorAt: true, accessTokenExpiresAt: true, consentedAt: true, connectedByUserId: true, connectorLeftAt: true,
      },
      where: {
        ...(filter.status ? { status: filter.status } : {}),
        ...(after !== null ? { teamId: MoreThan(after) } : {}),
        ...(consentedBeforeAt ? { consentedAt: LessThan(consentedBeforeAt) } : {}),
      },
      order: { teamId: 'ASC' },
      take: limit + 1,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        teamId: r.teamId,
        status: r.status,
        connectionType: r.connectionType,
        site: r.cloudId ? { cloudId: r.cloudId, url: r.siteUrl, name: r.siteName } : null,
        connectedAt: r.connectedAt,
        lastError: r.lastErrorCode ? { code: r.lastErrorCode, at: r.lastErrorAt } : null,
        accessTokenExpiresAt: r.accessTokenExpiresAt,
        consentExpiresAt: consentExpiresAt(r.consentedAt),
        connectedBy: { userId: r.connectedByUserId, leftAt: r.connectorLeftAt },
      })),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].teamId) : null,
    };
  }
}

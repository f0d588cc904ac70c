import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { TeamAccessPolicy, type TeamRole } from 'jira-connect';
import { HostMembership, type HostRole } from './host.entities.js';

/** The host's roles in the integration's terms: who may connect (owner, admin) and who may look. */
const ROLE_IN_JIRA_CONNECT: Record<HostRole, TeamRole> = { owner: 'owner', editor: 'admin', viewer: 'member' };

const INTEGER_ID = /^[1-9]\d{0,8}$/;

/** The module asks the host's own membership table; ids arrive as strings ("42"). */
@Injectable()
export class HostTeamAccessPolicy extends TeamAccessPolicy {
  constructor(@InjectRepository(HostMembership) private readonly memberships: Repository<HostMembership>) {
    super();
  }

  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    if (!INTEGER_ID.test(teamId) || !INTEGER_ID.test(userId)) return null;
    const membership = await this.memberships.findOneBy({ teamId: Number(teamId), userId: Number(userId) });
    return membership ? ROLE_IN_JIRA_CONNECT[membership.role] : null;
  }
}

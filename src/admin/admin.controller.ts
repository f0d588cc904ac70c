import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminKeyGuard } from '../auth/admin-key.guard.js';
import { Public } from '../integrations/jira/auth/public.decorator.js';
import { ApiProblems, ProblemSets } from '../integrations/jira/common/api-problems.decorator.js';
import { AppError } from '../integrations/jira/common/app-error.js';
import { OpaqueIdPipe } from '../common/opaque-id.pipe.js';
import { JiraWebhookDispatcher } from '../integrations/jira/webhooks/jira-webhook.dispatcher.js';
import { AdminService } from './admin.service.js';
import {
  AdminIntegrationPageDto, DeadLetterRetryResponseDto, DeadLettersQueryDto, DeadLettersResponseDto, ListIntegrationsQueryDto, MemberRemovalResponseDto, MembershipResponseDto, PutMemberDto, TeamDeletionResponseDto,
} from './dto/admin.dto.js';

// 404 not_found: no ADMIN_API_KEYS configured, so the admin API does not exist.
const ADMIN_AUTH_PROBLEMS = { 401: ['unauthenticated', 'invalid_admin_key'], 404: ['not_found'] };
const ID_PROBLEMS = { ...ADMIN_AUTH_PROBLEMS, 400: ['invalid_id', 'validation_failed'] };

/**
 * The product's backend, service to service. Not behind the users' bearer JWT nor TeamGuard:
 * AdminKeyGuard checks `Authorization: Bearer <ADMIN_API_KEYS entry>` instead.
 */
@ApiTags('Admin (service to service)')
@ApiBearerAuth('admin-key')
@ApiNotFoundResponse({ description: 'No ADMIN_API_KEYS configured: the admin API does not exist.' })
@Controller('api/admin')
@Public()
@UseGuards(AdminKeyGuard)
export class AdminController {
  constructor(private readonly admin: AdminService, private readonly modules: ModuleRef) {}

  /** The Jira module's dispatcher, looked up across modules (the admin API does not import the Jira module). */
  private get webhooks(): JiraWebhookDispatcher {
    return this.modules.get(JiraWebhookDispatcher, { strict: false });
  }

  @Delete('teams/:teamId')
  @ApiOperation({
    summary: 'The product deleted a team',
    description: 'Deletes the team\'s Jira integration, OAuth states, memberships and the team itself; sends a `disconnected` '
      + 'notification if it was connected and emits TeamDeleted. Idempotent: deleting again answers 200 with false flags.',
  })
  @ApiOkResponse({ type: TeamDeletionResponseDto })
  @ApiProblems(ID_PROBLEMS)
  async deleteTeam(@Param('teamId', OpaqueIdPipe) teamId: string) {
    return { data: await this.admin.deleteTeam(teamId) };
  }

  @Put('teams/:teamId/members/:userId')
  @ApiOperation({
    summary: 'Set a member\'s role (table policy)',
    description: 'Creates the team and the user when missing. For TEAM_ACCESS_POLICY=table; the claims and http policies ignore these rows.',
  })
  @ApiOkResponse({ type: MembershipResponseDto })
  @ApiProblems(ID_PROBLEMS, ProblemSets.jsonBody)
  async putMember(@Param('teamId', OpaqueIdPipe) teamId: string, @Param('userId', OpaqueIdPipe) userId: string, @Body() body: PutMemberDto) {
    return { data: await this.admin.putMember(teamId, userId, body.role) };
  }

  @Delete('teams/:teamId/members/:userId')
  @ApiOperation({ summary: 'Remove a member (table policy)', description: 'Idempotent. The team and the user stay. When the user '
    + 'connected the team\'s Jira, the integration keeps working, its status says `connectedBy.isMember: false` and a `connector_left` '
    + 'notification is sent (answer: `connectorLeft: true`).' })
  @ApiOkResponse({ type: MemberRemovalResponseDto })
  @ApiProblems(ID_PROBLEMS)
  async deleteMember(@Param('teamId', OpaqueIdPipe) teamId: string, @Param('userId', OpaqueIdPipe) userId: string) {
    return { data: await this.admin.deleteMember(teamId, userId) };
  }

  @Get('integrations')
  @ApiOperation({
    summary: 'List integrations, e.g. those that must reconnect',
    description: 'Keyset-paginated by team id: follow `nextCursor` until it is null. Never returns a token. '
      + '`consentExpiresBefore` finds the teams whose yearly consent ends soon.',
  })
  @ApiOkResponse({ type: AdminIntegrationPageDto })
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, 400: ['validation_failed', 'invalid_cursor'] })
  async listIntegrations(@Query() query: ListIntegrationsQueryDto) {
    const filter = { status: query.status, consentExpiresBefore: query.consentExpiresBefore ? new Date(query.consentExpiresBefore) : undefined };
    const page = await this.admin.listIntegrations(filter, query.cursor, query.limit ?? 50);
    return { data: page.items, nextCursor: page.nextCursor };
  }

  @Get('webhooks/dead-letters')
  @ApiOperation({
    summary: 'Jira webhook events whose handlers kept failing',
    description: 'Newest first. Each was tried JIRA_WEBHOOK_MAX_ATTEMPTS times; fix the cause, then retry it.',
  })
  @ApiOkResponse({ type: DeadLettersResponseDto })
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, 400: ['validation_failed'] })
  async listDeadLetters(@Query() query: DeadLettersQueryDto) {
    return { data: await this.webhooks.deadLetters(query.limit ?? 100) };
  }

  @Post('webhooks/dead-letters/:id/retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Queue a dead-lettered Jira webhook event again', description: 'With a fresh set of attempts.' })
  @ApiOkResponse({ type: DeadLetterRetryResponseDto })
  @ApiProblems({ ...ADMIN_AUTH_PROBLEMS, 404: ['not_found', 'dead_letter_not_found'] }, ProblemSets.jsonBody)
  async retryDeadLetter(@Param('id', OpaqueIdPipe) id: string) {
    if (!(await this.webhooks.retryDeadLetter(id))) {
      throw new AppError('dead_letter_not_found', HttpStatus.NOT_FOUND, 'No such dead letter',
        'No dead-lettered webhook event has this id (it may have been retried already). List them with GET /api/admin/webhooks/dead-letters.');
    }
    return { data: { requeued: true } };
  }
}

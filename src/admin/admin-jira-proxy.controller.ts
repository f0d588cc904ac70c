import { Controller, Delete, Get, Param, Patch, Post, Put, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiBearerAuth, ApiNotFoundResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdminKeyGuard } from '../auth/admin-key.guard.js';
import { Public } from '../integrations/jira/auth/public.decorator.js';
import { ApiProblems } from '../integrations/jira/common/api-problems.decorator.js';
import { OpaqueIdPipe } from '../common/opaque-id.pipe.js';
import { JiraProxyService } from '../integrations/jira/proxy/jira-proxy.service.js';
import { ApiJiraProxy, PROXY_PROBLEMS } from '../integrations/jira/proxy/proxy-openapi.js';
import { ProxyProblemFilter } from '../integrations/jira/proxy/proxy-problem.filter.js';
import { ADMIN_PROXY_MARKER, rawPathAfter } from '../integrations/jira/proxy/proxy-request.js';

const ROUTE = 'teams/:teamId/jira/*jiraPath';
const ADMIN_PROXY_PROBLEMS = [{ 401: ['unauthenticated', 'invalid_admin_key'], 404: ['not_found'], 400: ['invalid_id'] }, PROXY_PROBLEMS] as const;
const TEAM_ID = ApiParam({ name: 'teamId', required: true, description: 'The product\'s team id.', schema: { type: 'string' } });

/**
 * The product's backend's Jira proxy: `/api/admin/teams/{teamId}/jira/{jiraPath}` with an admin
 * API key, within JIRA_ADMIN_PROXY_RULES; the same JiraProxyService as the SPA's.
 */
@ApiTags('Admin (service to service)')
@ApiBearerAuth('admin-key')
@ApiNotFoundResponse({ description: 'No ADMIN_API_KEYS configured: the admin API does not exist.' })
@Controller('api/admin')
@Public()
@UseGuards(AdminKeyGuard)
@UseFilters(ProxyProblemFilter)
export class AdminJiraProxyController {
  constructor(private readonly modules: ModuleRef) {}

  /** The Jira module's proxy, looked up across modules (the admin API does not import the Jira module). */
  private get proxy(): JiraProxyService {
    return this.modules.get(JiraProxyService, { strict: false });
  }

  @Get(ROUTE)
  @TEAM_ID
  @ApiJiraProxy('GET', 'admin')
  @ApiProblems(...ADMIN_PROXY_PROBLEMS)
  get(@Param('teamId', OpaqueIdPipe) teamId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(teamId, req, res);
  }

  @Post(ROUTE)
  @TEAM_ID
  @ApiJiraProxy('POST', 'admin')
  @ApiProblems(...ADMIN_PROXY_PROBLEMS)
  post(@Param('teamId', OpaqueIdPipe) teamId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(teamId, req, res);
  }

  @Put(ROUTE)
  @TEAM_ID
  @ApiJiraProxy('PUT', 'admin')
  @ApiProblems(...ADMIN_PROXY_PROBLEMS)
  put(@Param('teamId', OpaqueIdPipe) teamId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(teamId, req, res);
  }

  @Patch(ROUTE)
  @TEAM_ID
  @ApiJiraProxy('PATCH', 'admin')
  @ApiProblems(...ADMIN_PROXY_PROBLEMS)
  patch(@Param('teamId', OpaqueIdPipe) teamId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(teamId, req, res);
  }

  @Delete(ROUTE)
  @TEAM_ID
  @ApiJiraProxy('DELETE', 'admin')
  @ApiProblems(...ADMIN_PROXY_PROBLEMS)
  delete(@Param('teamId', OpaqueIdPipe) teamId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(teamId, req, res);
  }

  private forward(teamId: string, req: Request, res: Response): Promise<void> {
    return this.proxy.forward({ teamId, role: null, actor: 'admin-key', rules: 'admin' }, rawPathAfter(req.originalUrl, ADMIN_PROXY_MARKER), req, res);
  }
}

import { Controller, Delete, Get, Inject, Patch, Post, Put, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AuthenticatedRequest } from '../auth/current-user.decorator.js';
import { ApiProblems, ApiTeamHeader, ProblemSets } from '../common/api-problems.decorator.js';
import { RateLimitGuard, RateLimitProxyPerUser } from '../common/throttling/rate-limit.guard.js';
import type { TeamRequest } from '../teams/team.decorators.js';
import { TeamGuard } from '../teams/team.guard.js';
import { JIRA_ROUTE_PREFIX } from '../jira-integration.options.js';
import { RequestUserGuard } from '../module/request-user.guard.js';
import { CredentialsPrefetchGuard, type PrefetchingRequest } from './credentials-prefetch.guard.js';
import { JiraProxyService } from './jira-proxy.service.js';
import { ApiJiraProxy, PROXY_PROBLEMS } from './proxy-openapi.js';
import { ProxyProblemFilter } from './proxy-problem.filter.js';
import { rawPathAfter } from './proxy-request.js';

const ROUTE = 'proxy/*jiraPath';
const SPA_PROBLEMS = [ProblemSets.authenticated, ProblemSets.team, ProblemSets.rateLimited, PROXY_PROBLEMS] as const;

/**
 * The SPA's Jira proxy: `<routePrefix>/proxy/{jiraPath}` with the user's bearer token and
 * X-Team-Id, for members of the team, within JIRA_PROXY_RULES. Mounted by the module's
 * `jiraProxy: true` extra (module/routes.ts); the standalone server mounts it.
 */
@ApiTags('Jira proxy')
@Controller('api/integrations/jira')
@UseGuards(RequestUserGuard, CredentialsPrefetchGuard, TeamGuard, RateLimitGuard)
@UseFilters(ProxyProblemFilter)
@RateLimitProxyPerUser()
@ApiBearerAuth()
@ApiTeamHeader()
export class JiraProxyController {
  constructor(
    private readonly proxy: JiraProxyService,
    @Inject(JIRA_ROUTE_PREFIX) private readonly routePrefix: string,
  ) {}

  @Get(ROUTE)
  @ApiJiraProxy('GET', 'spa')
  @ApiProblems(...SPA_PROBLEMS)
  get(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(req, res);
  }

  @Post(ROUTE)
  @ApiJiraProxy('POST', 'spa')
  @ApiProblems(...SPA_PROBLEMS)
  post(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(req, res);
  }

  @Put(ROUTE)
  @ApiJiraProxy('PUT', 'spa')
  @ApiProblems(...SPA_PROBLEMS)
  put(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(req, res);
  }

  @Patch(ROUTE)
  @ApiJiraProxy('PATCH', 'spa')
  @ApiProblems(...SPA_PROBLEMS)
  patch(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(req, res);
  }

  @Delete(ROUTE)
  @ApiJiraProxy('DELETE', 'spa')
  @ApiProblems(...SPA_PROBLEMS)
  delete(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward(req, res);
  }

  private forward(req: Request, res: Response): Promise<void> {
    const { team, user } = req as TeamRequest & AuthenticatedRequest;
    const marker = `/${this.routePrefix.replace(/^\/+|\/+$/g, '')}/proxy`;
    const prefetched = (req as unknown as PrefetchingRequest).jiraCredentialsPrefetch;
    return this.proxy.forward({ teamId: team!.id, role: team!.role, actor: user!.id, rules: 'spa', prefetched }, rawPathAfter(req.originalUrl, marker), req, res);
  }
}

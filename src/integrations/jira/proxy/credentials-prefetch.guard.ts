import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { parseOpaqueId } from '../common/opaque-id.js';
import { TEAM_HEADER } from '../teams/team.guard.js';
import { JiraTokenManager, type CredentialsPrefetch } from '../tokens/jira-token-manager.service.js';

export type PrefetchingRequest = IncomingMessage & { user?: { id?: unknown }; jiraCredentialsPrefetch?: CredentialsPrefetch };

/**
 * The SPA proxy's latency: between authentication and the membership check, starts reading the
 * X-Team-Id team's token row, so the membership SELECT and the token SELECT overlap instead of
 * following each other (bench: proxy). It never refuses anything (TeamGuard does), never
 * refreshes, and nothing it read is used unless the request passes every guard; it runs only for
 * an authenticated user and a well-formed team id.
 */
@Injectable()
export class CredentialsPrefetchGuard implements CanActivate {
  constructor(private readonly tokens: JiraTokenManager) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<PrefetchingRequest>();
    const teamId = req.user?.id === undefined ? null : parseOpaqueId(req.headers[TEAM_HEADER]);
    if (teamId !== null) req.jiraCredentialsPrefetch = this.tokens.prefetch(teamId);
    return true;
  }
}

import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Repository } from 'typeorm';
import { isJiraPublicRoute } from 'jira-connect';
import { HostUser } from './host.entities.js';

export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export type HostRequest = Request & { user?: { id: number; name: string } };

/**
 * The host's authentication: a global guard that wants `X-Api-Key` everywhere, except on the
 * Jira module's public route (the OAuth callback Atlassian redirects the browser to). It sets
 * `req.user = { id, name }` with the host's integer id: that is the module's whole contract.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @InjectRepository(HostUser) private readonly users: Repository<HostUser>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (isJiraPublicRoute(this.reflector, context)) return true;
    const req = context.switchToHttp().getRequest<HostRequest>();
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') throw new UnauthorizedException('Send your API key in X-Api-Key.');
    const user = await this.users.findOneBy({ apiKeyHash: sha256(key) });
    if (!user) throw new UnauthorizedException('Unknown API key.');
    req.user = { id: user.id, name: user.name };
    return true;
  }
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Request } from 'express';
import { AppError, CommonErrorCode } from '../integrations/jira/common/app-error.js';
import { adminConfig } from '../config/admin.config.js';

export const ADMIN_KEY_INVALID = 'invalid_admin_key';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * The admin API's own authentication (its routes are @Public() for the bearer JWT guard):
 * `Authorization: Bearer <one of ADMIN_API_KEYS>`. Keys are compared as SHA-256 digests with
 * timingSafeEqual, against every key without stopping early, so timing says nothing about how
 * much of a key matched or which one did. With no key configured the API does not exist: 404.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(@Inject(adminConfig.KEY) settings: ConfigType<typeof adminConfig>) {
    this.keys = settings.keys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (this.keys.length === 0) throw new NotFoundException(`Cannot ${req.method} ${req.path}`);
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new AppError(CommonErrorCode.Unauthenticated, HttpStatus.UNAUTHORIZED, 'Admin key required',
        'Send one of ADMIN_API_KEYS as "Authorization: Bearer <key>".');
    }
    const presented = digest(match[1]);
    let ok = false;
    for (const key of this.keys) ok = timingSafeEqual(presented, key) || ok;
    if (!ok) {
      throw new AppError(ADMIN_KEY_INVALID, HttpStatus.UNAUTHORIZED, 'Invalid admin key',
        'The key is not one of ADMIN_API_KEYS. Check the service configuration.');
    }
    return true;
  }
}

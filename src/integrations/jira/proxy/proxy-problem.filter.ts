import { type ArgumentsHost, Catch } from '@nestjs/common';
import type { Response } from 'express';
import { ProblemDetailsFilter } from '../common/problem-details.filter.js';
import { PROXY_PROBLEM_HEADER } from './proxy-headers.js';

/**
 * Problem JSON on the proxy routes, marked with `X-Jira-Connect-Problem: 1` so a client can tell
 * jira-connect's own answers (guards, rules, limits, connection state) from Jira's, which never
 * carry the header. Covers the guards too: filters bound to a route catch what its guards throw.
 */
@Catch()
export class ProxyProblemFilter extends ProblemDetailsFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (!res.headersSent) res.setHeader(PROXY_PROBLEM_HEADER, '1');
    super.catch(exception, host);
  }
}

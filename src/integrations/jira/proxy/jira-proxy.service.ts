import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { Method } from 'axios';
import { AppError, CommonErrorCode } from '../common/app-error.js';
import type { TeamRole } from '../teams/team-role.js';
import type { JiraStreamResponse } from '../atlassian/atlassian.gateway.js';
import { JiraClient } from '../client/jira-client.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import type { CredentialsPrefetch } from '../tokens/jira-token-manager.service.js';
import { forwardedRequestHeaders, returnedResponseHeaders } from './proxy-headers.js';
import { checkedQuery, parseJiraPath } from './proxy-path.js';
import { matchProxyRule, PROXY_METHODS, type ProxyRule } from './proxy-rules.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraProxySettings } from '../config/jira-proxy.config.js';

/** Who is calling through which proxy. */
export interface ProxyCaller {
  teamId: string;
  /** The member's role for the SPA proxy; null for the admin proxy (service to service). */
  role: TeamRole | null;
  /** For the write log line: the user id, or `admin-key`. */
  actor: string;
  rules: 'spa' | 'admin';
  /** The team's token row, already being read (CredentialsPrefetchGuard); used only for `teamId`. */
  prefetched?: CredentialsPrefetch;
}

type ProxyRequest = IncomingMessage & { body?: unknown; originalUrl?: string };


const invalidPath = (reason: string): JiraError =>
  new JiraError(JiraErrorCode.InvalidJiraPath, HttpStatus.BAD_REQUEST, 'Invalid Jira path',
    `${reason} Send a plain Jira REST path such as /rest/api/3/myself; nothing was sent to Jira.`);

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The Jira proxies' one implementation (SPA and admin): checks the path and the rules, reads the
 * request body within its limit, calls Jira through JiraClient.requestStream (token, refresh,
 * governor) and streams Jira's answer back as it is. Everything refused here is refused before
 * anything is sent to Atlassian.
 */
@Injectable()
export class JiraProxyService {
  private readonly logger = new Logger('JiraProxy');

  private readonly settings: JiraProxySettings;
  constructor(
    private readonly jira: JiraClient,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
  ) {
    this.settings = settings.proxy;
  }

  /**
   * Proxies `req` to the team's site. `rawJiraPath` is the request path after the proxy's own
   * prefix, still encoded (`/rest/api/3/myself`); the query string is taken from the request as sent.
   */
  async forward(caller: ProxyCaller, rawJiraPath: string, req: ProxyRequest, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (!(PROXY_METHODS as readonly string[]).includes(method)) {
      throw new AppError(CommonErrorCode.MethodNotAllowed, HttpStatus.METHOD_NOT_ALLOWED, 'Method not allowed',
        `The Jira proxy carries ${PROXY_METHODS.join(', ')}.`);
    }
    const target = parseJiraPath(rawJiraPath);
    if (!target.ok) throw invalidPath(target.reason);
    const url = req.originalUrl ?? req.url ?? '';
    const q = url.indexOf('?');
    const query = checkedQuery(q === -1 ? '' : url.slice(q + 1));
    if (query === null) throw invalidPath('The query string holds characters a URL query cannot.');
    const rules: ProxyRule[] = caller.rules === 'spa' ? this.settings.spaRules : this.settings.adminRules;
    const verdict = matchProxyRule(rules, method, target.segments, caller.role);
    if (verdict.kind === 'outside') throw invalidPath('The path is outside everything this proxy may reach.');
    if (verdict.kind === 'forbidden') {
      const variable = caller.rules === 'spa' ? 'JIRA_PROXY_RULES' : 'JIRA_ADMIN_PROXY_RULES';
      throw new JiraError(JiraErrorCode.ProxyForbidden, HttpStatus.FORBIDDEN, 'This Jira call is not allowed through the proxy',
        verdict.reason === 'role'
          ? `${method} ${target.path} needs the ${verdict.minRole} role or above in the team; nothing was sent to Jira.`
          : `No rule in ${variable} allows ${method} ${target.path}; nothing was sent to Jira.`,
        { extensions: verdict.reason === 'role' ? { requiredRole: verdict.minRole } : {} });
    }
    const body = WITH_BODY.has(method) ? await this.readBody(req) : undefined;
    const logWrite = (status: number, problemCode?: string): void => {
      if (method === 'GET') return;
      this.logger.log({ teamId: caller.teamId, actor: caller.actor, method, path: target.path, status, problemCode, msg: 'Jira proxy write' });
    };
    let answer: JiraStreamResponse;
    try {
      answer = await this.jira.forTeam(caller.teamId).requestStream(method as Method, target.path, {
        query: query === '' ? undefined : query,
        body: body && body.length > 0 ? body : undefined,
        headers: forwardedRequestHeaders(req.headers),
        prefetched: caller.prefetched,
      });
    } catch (err) {
      if (err instanceof AppError) logWrite(err.getStatus(), err.code);
      throw err;
    }
    logWrite(answer.status);
    const headers = returnedResponseHeaders(answer.headers);
    const announced = Number(headers['content-length'] ?? 0);
    if (announced > this.settings.maxResponseBytes) {
      answer.body.destroy();
      throw new JiraError(JiraErrorCode.ResponseTooLarge, HttpStatus.BAD_GATEWAY, 'Jira\'s answer is too large for the proxy',
        `Jira answered ${announced} bytes; the proxy passes at most ${this.settings.maxResponseBytes} (JIRA_PROXY_MAX_RESPONSE_KB). Ask for a smaller page.`,
        { extensions: { jiraStatus: answer.status } });
    }
    res.writeHead(answer.status, headers);
    try {
      await pipeline(answer.body, byteLimit(this.settings.maxResponseBytes), res);
    } catch {
      // Past the limit, or either side hung up: the status is sent, so the only honest signal left is a cut connection.
      answer.body.destroy();
      res.destroy();
    }
  }

  /** The request body, refused with 413 past JIRA_PROXY_MAX_REQUEST_KB while it arrives. */
  private async readBody(req: ProxyRequest): Promise<Buffer> {
    const max = this.settings.maxRequestBytes;
    if (req.readableEnded || req.body !== undefined) return alreadyParsed(req.body, req.headers['content-type'], max);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) throw tooLarge(max);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw tooLarge(max);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

const tooLarge = (max: number): AppError =>
  new AppError(CommonErrorCode.PayloadTooLarge, HttpStatus.PAYLOAD_TOO_LARGE, 'Request body too large',
    `The Jira proxy passes request bodies of at most ${max} bytes (JIRA_PROXY_MAX_REQUEST_KB); nothing was sent to Jira.`);

/** A host app whose own body parser ran first: its result, serialized again. */
function alreadyParsed(body: unknown, contentType: string | undefined, max: number): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(body)) bytes = body;
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else if (body === undefined || (typeof body === 'object' && body !== null && Object.keys(body).length === 0)) bytes = Buffer.alloc(0);
  else if (/^application\/x-www-form-urlencoded/i.test(contentType ?? '')) {
    bytes = Buffer.from(new URLSearchParams(body as Record<string, string>).toString());
  } else bytes = Buffer.from(JSON.stringify(body));
  if (bytes.length > max) throw tooLarge(max);
  return bytes;
}

/** Passes bytes until `max`, then fails the pipeline. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > max) done(new Error(`Jira's answer exceeded ${max} bytes`));
      else done(null, chunk);
    },
  });
}

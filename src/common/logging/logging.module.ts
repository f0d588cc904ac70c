import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { appConfig } from '../../config/app.config.js';
import type { ConfigType } from '@nestjs/config';

/**
 * Paths pino censors wherever they appear in a log object. Secrets should never be logged in the
 * first place; this is the net under that rule (headers, cookies, OAuth parameters, tokens).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...['access_token', 'refresh_token', 'accessToken', 'refreshToken', 'id_token', 'code', 'state',
    'client_secret', 'clientSecret', 'client_credential', 'clientCredential', 'code_verifier', 'codeVerifier', 'password', 'token', 'authorization']
    .flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

/**
 * Where the logs go: null is pino's default (stdout). Tests override it with their capture's
 * stream (test/helpers/log-capture.ts); nestjs-pino keeps ONE root logger per process, built by the
 * first app that starts, so the first app's destination is every later app's too.
 */
export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

/** Only the path: query strings carry OAuth codes and states. */
function pathOnly(url: string | undefined): string | undefined {
  return url?.split('?')[0];
}

export const AppLoggerModule = LoggerModule.forRootAsync({
  providers: [{ provide: LOG_DESTINATION, useValue: null }],
  inject: [appConfig.KEY, LOG_DESTINATION],
  useFactory: (app: ConfigType<typeof appConfig>, destination: DestinationStream | null) => {
    const options = {
      level: app.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      genReqId: (req: IncomingMessage) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          path: pathOnly(req.url),
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      // A failed OAuth callback may answer 302 (back to the app): its line still says why.
      customProps: (_req: IncomingMessage, res: { statusCode: number }) => {
        const problemCode = (res as { locals?: { problemCode?: unknown } }).locals?.problemCode;
        return typeof problemCode === 'string' ? { problemCode } : {};
      },
      customLogLevel: (_req: IncomingMessage, res: { statusCode: number }, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    };
    return { pinoHttp: destination ? ([options, destination] as const) : options };
  },
});

import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { appConfig } from '../../integrations/jira/config/app.config.js';
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

/*
 * nestjs-pino keeps ONE root logger per process, built by the first app that starts. Under
 * NODE_ENV=test it writes to this fan-out, so every test app can capture what the process logs
 * (a capture sees other apps' lines too, which only makes leak assertions stricter).
 */
const testSinks = new Set<DestinationStream>();
const testFanout: DestinationStream = {
  write(line: string) {
    for (const sink of testSinks) sink.write(line);
  },
};

/** Tests subscribe a buffer to the logs to assert nothing secret is written; returns unsubscribe. */
export function addTestLogSink(stream: DestinationStream): () => void {
  testSinks.add(stream);
  return () => void testSinks.delete(stream);
}

/** Only the path: query strings carry OAuth codes and states. */
function pathOnly(url: string | undefined): string | undefined {
  return url?.split('?')[0];
}

export const AppLoggerModule = LoggerModule.forRootAsync({
  inject: [appConfig.KEY],
  useFactory: (app: ConfigType<typeof appConfig>) => {
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
    return { pinoHttp: app.env === 'test' ? ([options, testFanout] as const) : options };
  },
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { errors as joseErrors, type JWTPayload, jwtVerify } from 'jose';
import { AppError, CommonErrorCode } from '../common/app-error.js';
import { claimBody } from '../common/http/body-limits.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';

/** Where Jira posts (JIRA_WEBHOOK_URL must reach it). */
export const JIRA_WEBHOOK_PATH = '/api/integrations/jira/webhooks';

/** Seconds of clock skew tolerated on `exp` (and `nbf`/`iat` where present). */
export const JWT_CLOCK_TOLERANCE_S = 30;

type CapturedBody = { bytes: Buffer; overflow: boolean } | { refused: unknown };
type RawRequest = IncomingMessage & { rawBody?: Buffer; jiraWebhookBody?: CapturedBody; body?: unknown };

const unauthorized = (detail: string): JiraError =>
  new JiraError(JiraErrorCode.WebhookUnauthorized, HttpStatus.UNAUTHORIZED, 'Webhook signature rejected', detail);

export interface WebhookJwtCheck {
  clientSecret: string;
  now: Date;
  /** Longest remaining lifetime (`exp - now`) accepted: a captured token is worth at most this. */
  maxLifetimeSeconds: number;
}

/**
 * The `Authorization: Bearer <JWT>` Jira sends with every dynamic-webhook delivery to an OAuth 2.0
 * app, signed with the app's client secret. Algorithm pinned to HS256; `exp` required, and at most
 * `maxLifetimeSeconds` away; an `iat` in the future (beyond the clock tolerance) is refused.
 * Atlassian documents no other claim for these tokens (no `qsh` or body hash, so a token cannot be
 * bound to its body): the lifetime cap and the delivery-id dedupe are what limit a replay.
 */
export async function verifyWebhookJwt(authorization: string | undefined, check: WebhookJwtCheck): Promise<void> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
  if (!m) throw unauthorized('Jira signs every webhook delivery with a JWT in the Authorization header; this request has none.');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(m[1], new TextEncoder().encode(check.clientSecret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: JWT_CLOCK_TOLERANCE_S,
      currentDate: check.now,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthorized('The webhook JWT has expired.');
    if (err instanceof joseErrors.JOSEError) throw unauthorized('The webhook JWT is not signed with this app\'s client secret, or is malformed.');
    throw err;
  }
  const nowS = check.now.getTime() / 1000;
  if (typeof payload.iat === 'number' && payload.iat > nowS + JWT_CLOCK_TOLERANCE_S) throw unauthorized('The webhook JWT was issued in the future.');
  if (payload.exp! - nowS > check.maxLifetimeSeconds + JWT_CLOCK_TOLERANCE_S) {
    throw unauthorized(`The webhook JWT is valid for longer than ${check.maxLifetimeSeconds} seconds (JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS).`);
  }
}

export type WebhookVerifier = (authorization: string | undefined) => Promise<void>;

/** The one check of a delivery's Authorization, shared by the body middleware and the controller. */
export function webhookVerifier(clientSecret: string | undefined, maxLifetimeSeconds: number, now: () => Date): WebhookVerifier {
  return async (authorization) => {
    if (!clientSecret) {
      throw new JiraError(JiraErrorCode.NotConfigured, HttpStatus.SERVICE_UNAVAILABLE, 'Jira is not configured',
        'Set JIRA_CLIENT_SECRET: webhook deliveries are verified with it.');
    }
    await verifyWebhookJwt(authorization, { clientSecret, now: now(), maxLifetimeSeconds });
  };
}

/** After answering a request whose body was not read, the connection goes: nothing more of it is read. */
function closeAfterAnswer(req: RawRequest, res: ServerResponse): void {
  if (req.complete) return;
  res.setHeader('connection', 'close');
  res.once('finish', () => {
    if (!req.complete) req.socket.destroy();
  });
}

/**
 * Express middleware mounted on the webhook path before the JSON parser (app.setup.ts). The JWT
 * is verified first, from the headers: a request without a valid one is answered 401 without
 * reading a byte of its body. A signed body is read up to `maxBytes` (larger than the API's 32 kB:
 * issue payloads with a changelog are); past it (or when Content-Length says so) reading stops
 * and the answer is 413. Either way, an unread rest closes the connection after the answer.
 */
export function captureWebhookBody(maxBytes: number, verify: WebhookVerifier) {
  return (req: RawRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST') return next();
    // The JSON and form parsers after this leave the stream alone, read or not.
    claimBody(req);
    let passed = false;
    const pass = (err?: unknown): void => {
      if (!passed) next(err);
      passed = true;
    };
    const refuse = (captured: CapturedBody): void => {
      req.jiraWebhookBody = captured;
      closeAfterAnswer(req, res);
      pass();
    };
    verify(req.headers.authorization).then(() => {
      if (Number(req.headers['content-length']) > maxBytes) return refuse({ bytes: Buffer.alloc(0), overflow: true });
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size <= maxBytes) return void chunks.push(c);
        req.off('data', onData).off('end', onEnd);
        req.pause();
        refuse({ bytes: Buffer.alloc(0), overflow: true });
      };
      const onEnd = (): void => {
        req.jiraWebhookBody = { bytes: Buffer.concat(chunks), overflow: false };
        pass();
      };
      req.on('data', onData).on('end', onEnd).once('error', pass);
    }, (err: unknown) => refuse({ refused: err }));
  };
}

/**
 * The verified raw body: captured above, or, in a host app without that middleware, Nest's
 * `rawBody` (app created with `rawBody: true`) after verifying the JWT here.
 */
export async function verifiedWebhookBody(req: RawRequest, verify: WebhookVerifier): Promise<Buffer> {
  const captured = req.jiraWebhookBody;
  if (captured && 'refused' in captured) throw captured.refused;
  if (captured?.overflow) {
    throw new AppError(CommonErrorCode.PayloadTooLarge, HttpStatus.PAYLOAD_TOO_LARGE, 'Webhook body too large',
      'Raise JIRA_WEBHOOK_MAX_BODY_KB if Jira sends payloads this large.');
  }
  if (captured) return captured.bytes;
  await verify(req.headers.authorization);
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  // A host app whose own JSON parser ran first: the JWT was verified before this is used.
  if (req.body !== undefined && typeof req.body === 'object') return Buffer.from(JSON.stringify(req.body));
  return Buffer.alloc(0);
}

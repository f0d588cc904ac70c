import type { IncomingMessage } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { errors as joseErrors, jwtVerify } from 'jose';
import { AppError, CommonErrorCode } from '../../../common/app-error.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';

/** Where Jira posts (JIRA_WEBHOOK_URL must reach it). */
export const JIRA_WEBHOOK_PATH = '/api/integrations/jira/webhooks';

/** Seconds of clock skew tolerated on `exp` (and `nbf`/`iat` where present). */
export const JWT_CLOCK_TOLERANCE_S = 30;

type RawRequest = IncomingMessage & { rawBody?: Buffer; jiraWebhookBody?: { bytes: Buffer; overflow: boolean }; body?: unknown };

const unauthorized = (detail: string): JiraError =>
  new JiraError(JiraErrorCode.WebhookUnauthorized, HttpStatus.UNAUTHORIZED, 'Webhook signature rejected', detail);

/**
 * The `Authorization: Bearer <JWT>` Jira sends with every dynamic-webhook delivery to an OAuth 2.0
 * app, signed with the app's client secret. Algorithm pinned to HS256; `exp` required. Atlassian
 * documents no other claim for these tokens, so none other is required.
 */
export async function verifyWebhookJwt(authorization: string | undefined, clientSecret: string, now: Date): Promise<void> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
  if (!m) throw unauthorized('Jira signs every webhook delivery with a JWT in the Authorization header; this request has none.');
  try {
    await jwtVerify(m[1], new TextEncoder().encode(clientSecret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: JWT_CLOCK_TOLERANCE_S,
      currentDate: now,
    });
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthorized('The webhook JWT has expired.');
    if (err instanceof joseErrors.JOSEError) throw unauthorized('The webhook JWT is not signed with this app\'s client secret, or is malformed.');
    throw err;
  }
}

/**
 * Express middleware mounted on the webhook path before the JSON parser (app.setup.ts): it keeps
 * the bytes unparsed until the JWT is verified, and allows bodies larger than the API's 32 kB
 * (issue payloads with a changelog are). Past `maxBytes` it stops keeping bytes and flags it.
 */
export function captureWebhookBody(maxBytes: number) {
  return (req: RawRequest, _res: unknown, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST') return next();
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) overflow = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      req.jiraWebhookBody = { bytes: Buffer.concat(chunks), overflow };
      next();
    });
    req.on('error', next);
  };
}

/** The raw body: captured above, or Nest's `rawBody` in a host app created with `rawBody: true`. */
export function webhookBody(req: RawRequest): Buffer {
  const captured = req.jiraWebhookBody;
  if (captured?.overflow) {
    throw new AppError(CommonErrorCode.PayloadTooLarge, HttpStatus.PAYLOAD_TOO_LARGE, 'Webhook body too large',
      'Raise JIRA_WEBHOOK_MAX_BODY_KB if Jira sends payloads this large.');
  }
  if (captured) return captured.bytes;
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  // A host app whose own JSON parser ran first: the JWT was verified before this is used.
  if (req.body !== undefined && typeof req.body === 'object') return Buffer.from(JSON.stringify(req.body));
  return Buffer.alloc(0);
}

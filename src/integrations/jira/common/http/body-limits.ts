import type { IncomingMessage } from 'node:http';

/** Largest JSON body accepted (413 payload_too_large above it); every route takes a few fields. */
export const JSON_BODY_LIMIT_BYTES = 32 * 1024;

/** Deepest JSON accepted (400 body_too_deep); class-transformer recurses once per level. */
export const MAX_BODY_DEPTH = 32;

const WITHOUT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

const CLAIMED = Symbol('body claimed');

/** A middleware that reads (or deliberately leaves unread) this request's body itself: the parsers skip it. */
export function claimBody(req: IncomingMessage): void {
  (req as IncomingMessage & { [CLAIMED]?: true })[CLAIMED] = true;
}

/**
 * Which requests a body parser reads: this media type, sent with a method that carries a body.
 * A body on GET or DELETE means nothing to any route, so it is ignored rather than parsed (and
 * possibly refused with a code those routes do not document). Requests whose body another reader
 * takes (`claimBody`: the webhook receiver, the Jira proxies) are skipped.
 */
export const bodyOfType = (mediaType: 'application/json' | 'application/x-www-form-urlencoded') => {
  const matches = new RegExp(`^${mediaType}\\s*(;|$)`, 'i');
  return (req: IncomingMessage): boolean => !(req as { [CLAIMED]?: true })[CLAIMED]
    && !WITHOUT_BODY.has(req.method ?? 'GET') && matches.test(req.headers['content-type'] ?? '');
};

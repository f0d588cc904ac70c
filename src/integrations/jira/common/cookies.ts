import type { Request } from 'express';

/**
 * One cookie of the request: from cookie-parser's `req.cookies` when the app installed it (the
 * standalone server does), otherwise parsed from the Cookie header, so the module's callback works
 * in a host that never installed cookie-parser.
 */
export function readCookie(req: Request, name: string): string | undefined {
  const parsed = (req.cookies as Record<string, unknown> | undefined)?.[name];
  if (parsed !== undefined) return typeof parsed === 'string' ? parsed : undefined;
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

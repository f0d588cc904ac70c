import { HttpStatus } from '@nestjs/common';
import { JiraError, JiraErrorCode } from '../jira.errors.js';

/** Atlassian Cloud site hosts: one label under atlassian.net (or the legacy jira.com). */
const CLOUD_HOST = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:atlassian\.net|jira\.com)$/;
const BARE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function invalid(input: string, why: string): JiraError {
  return new JiraError(JiraErrorCode.InvalidSiteUrl, HttpStatus.BAD_REQUEST, 'Not a Jira Cloud site URL',
    `${why} Give the site as "acme", "acme.atlassian.net" or "https://acme.atlassian.net".`,
    { extensions: { siteUrl: input.slice(0, 200) } });
}

/**
 * Normalizes what a user typed as their Jira site to `https://<name>.atlassian.net`: https, a
 * lower-case host, no port, path, query or credentials. `acme` and `acme.atlassian.net` are
 * accepted; anything that is not an Atlassian Cloud site is refused with `invalid_site_url`.
 */
export function normalizeSiteUrl(input: string): string {
  const raw = input.trim();
  if (raw === '') throw invalid(input, 'The site URL is empty.');
  let candidate = raw;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(candidate)) {
    if (BARE_NAME.test(candidate)) candidate = `${candidate}.atlassian.net`;
    candidate = `https://${candidate}`;
  }
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    throw invalid(input, 'The site URL cannot be parsed.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(input, 'Only https site URLs are accepted.');
  if (url.username || url.password) throw invalid(input, 'The site URL must not contain credentials.');
  if (url.port) throw invalid(input, 'Jira Cloud sites have no port.');
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (!CLOUD_HOST.test(host)) throw invalid(input, 'Only Atlassian Cloud sites (*.atlassian.net) can be connected.');
  return `https://${host}`;
}

/** The normalized form, or null for anything that is not a Cloud site URL. */
export function tryNormalizeSiteUrl(input: string): string | null {
  try {
    return normalizeSiteUrl(input);
  } catch {
    return null;
  }
}

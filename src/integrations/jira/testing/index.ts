/*
 * For a host's own tests (and its local sandbox): the fake Atlassian this repository's suite runs
 * against, an HTTP server playing auth.atlassian.com and api.atlassian.com (OAuth 2.0 3LO consent,
 * token exchange and refresh, accessible-resources, /me and Jira REST) on 127.0.0.1. Import it from
 * this entry only (`src/integrations/jira/testing/index.js`), never from production code: the
 * module does not import it (eslint.config.js refuses such an import in src/), and it mints
 * tokens without any login.
 */
import type { AtlassianAppOptions } from '../jira-integration.options.js';
import { FakeAtlassian, type FakeAccount, type FakeAtlassianOptions } from './fake-atlassian/fake-atlassian.js';

export { FakeAtlassian, type FakeAccount, type FakeAtlassianOptions };

export interface StartFakeAtlassianOptions {
  /** Port on 127.0.0.1; default one the OS picks (read it from `url`). */
  port?: number;
  /**
   * Show Atlassian's consent screen (Accept / Decline) at /authorize, for a person in a browser
   * (as `npm run sandbox` does). Default false: /authorize approves at once and redirects with a code.
   */
  consentPage?: boolean;
  /** The callback URL of the host's module, `<origin>/<routePrefix>/oauth/callback`; checked on /authorize as Atlassian does. */
  redirectUri?: string;
  clientId?: string;
  clientSecret?: string;
  /** The consenting account and its sites; default one site, acme.atlassian.net (`FakeAtlassian.account(name, siteCount)`). */
  account?: FakeAccount;
}

export interface RunningFakeAtlassian {
  /** Base URL, e.g. http://127.0.0.1:4010 (Atlassian's auth and API hosts are both here). */
  url: string;
  /** What the host passes as the module's `atlassian` option. */
  atlassian: Required<Pick<AtlassianAppOptions, 'clientId' | 'clientSecret' | 'redirectUri' | 'authBaseUrl' | 'apiBaseUrl'>>;
  /** The same as the standalone server's variables (JIRA_CLIENT_ID, …, JIRA_API_BASE_URL). */
  env: Record<string, string>;
  /**
   * Plays the user's browser at Atlassian (without the consent page): follows the authorization
   * URL `authorize` answered and returns the callback URL to request on the host, with its code and state.
   */
  consent(authorizationUrl: string): Promise<URL>;
  /** The server itself, to script answers and faults (see ./fake-atlassian/). */
  fake: FakeAtlassian;
  stop(): Promise<void>;
}

/** Starts the fake Atlassian; `await running.stop()` when the tests are done. */
export async function startFakeAtlassian(options: StartFakeAtlassianOptions = {}): Promise<RunningFakeAtlassian> {
  const fake = new FakeAtlassian({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    consentPage: options.consentPage ?? false,
  });
  if (options.account) fake.account = options.account;
  await fake.start(options.port ?? 0);
  return {
    url: fake.url,
    atlassian: { clientId: fake.clientId, clientSecret: fake.clientSecret, redirectUri: fake.redirectUri, authBaseUrl: fake.url, apiBaseUrl: fake.url },
    env: fake.env(),
    consent: (authorizationUrl) => fake.consent(authorizationUrl),
    fake,
    stop: () => fake.stop(),
  };
}

import { InitialSchema1764000000000 } from './1764000000000-InitialSchema.js';
import { RefreshLease1765000000000 } from './1765000000000-RefreshLease.js';
import { OpaqueIds1766000000000 } from './1766000000000-OpaqueIds.js';
import { NotificationOutbox1766000000001 } from './1766000000001-NotificationOutbox.js';
import { OAuthStateSuperseded1767000000000 } from './1767000000000-OAuthStateSuperseded.js';
import { JiraWebhooks1768000000000 } from './1768000000000-JiraWebhooks.js';
import { WebhookRawBody1769000000000 } from './1769000000000-WebhookRawBody.js';
import { ConnectionLifecycle1769500000000 } from './1769500000000-ConnectionLifecycle.js';
import { ServiceAccounts1770000000000 } from './1770000000000-ServiceAccounts.js';
import { JiraOwnTables1771000000000 } from '../src/integrations/jira/migrations/1771000000000-JiraOwnTables.js';
import { KeepAliveIndex1772000000000 } from '../src/integrations/jira/migrations/1772000000000-KeepAliveIndex.js';
import { JobTable1773000000000 } from '../src/integrations/jira/migrations/1773000000000-JobTable.js';

/**
 * The standalone server's schema: its own tables (`teams`, `users`, `team_members`) and, through the
 * last one (the module's own, in src/integrations/jira/migrations/), the module's. Listed explicitly
 * (not globbed) so the same list works from tsc output, SWC and the CLI.
 */
export const migrations = [
  InitialSchema1764000000000,
  RefreshLease1765000000000,
  OpaqueIds1766000000000,
  NotificationOutbox1766000000001,
  OAuthStateSuperseded1767000000000,
  JiraWebhooks1768000000000,
  WebhookRawBody1769000000000,
  ConnectionLifecycle1769500000000,
  ServiceAccounts1770000000000,
  JiraOwnTables1771000000000,
  KeepAliveIndex1772000000000,
  JobTable1773000000000,
];


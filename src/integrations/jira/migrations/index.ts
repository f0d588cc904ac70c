import { JiraOwnTables1771000000000 } from './1771000000000-JiraOwnTables.js';
import { KeepAliveIndex1772000000000 } from './1772000000000-KeepAliveIndex.js';
import { JobTable1773000000000 } from './1773000000000-JobTable.js';

/**
 * What a host application runs with its own migrations (`jiraConnectMigrations`): the module's
 * `jira_*` tables only, created on a new database or brought up to date in place on one that ran
 * an earlier version's migrations (1771000000000-JiraOwnTables.ts), then what changed since. The
 * standalone server's list (migrations/index.ts at the repository root) ends with the same ones.
 */
export const jiraMigrations = [JiraOwnTables1771000000000, KeepAliveIndex1772000000000, JobTable1773000000000];

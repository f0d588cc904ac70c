import { describe, expect, it } from 'vitest';
import { readJiraModuleSettings } from './jira-options.js';
import { EnvValidationError } from '../integrations/jira/config/validate-env.js';

const readJiraSettings = (env: NodeJS.ProcessEnv = {}) => readJiraModuleSettings(env).jira;

describe('JIRA_RECONSENT_NOTICE_DAYS and JIRA_PERSONAL_DATA_*', () => {
  it('defaults to 30 and 7 days, a weekly report and a 60 s deadline', () => {
    expect(readJiraSettings({})).toMatchObject({ reconsentNoticeDays: [30, 7], personalDataReportDays: 7, personalDataCallDeadlineMs: 60_000 });
  });

  it('parses notice days in any order, without duplicates, largest first', () => {
    expect(readJiraSettings({ JIRA_RECONSENT_NOTICE_DAYS: ' 7, 60,14,7 ' }).reconsentNoticeDays).toEqual([60, 14, 7]);
  });

  it.each([
    [{ JIRA_RECONSENT_NOTICE_DAYS: '30;7' }, 'JIRA_RECONSENT_NOTICE_DAYS'],
    [{ JIRA_RECONSENT_NOTICE_DAYS: '0' }, 'between 1 and 364'],
    [{ JIRA_RECONSENT_NOTICE_DAYS: '400' }, 'between 1 and 364'],
    [{ JIRA_PERSONAL_DATA_REPORT_DAYS: '8' }, 'JIRA_PERSONAL_DATA_REPORT_DAYS'],
    [{ JIRA_PERSONAL_DATA_CALL_DEADLINE_MS: '10' }, 'JIRA_PERSONAL_DATA_CALL_DEADLINE_MS'],
  ])('refuses %j', (env, message) => {
    expect(() => readJiraSettings(env)).toThrow(EnvValidationError);
    expect(() => readJiraSettings(env)).toThrow(message);
  });
});

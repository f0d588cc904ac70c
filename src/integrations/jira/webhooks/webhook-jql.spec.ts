import { describe, expect, it } from 'vitest';
import { assertWebhookJql } from './webhook-jql.js';

describe('assertWebhookJql', () => {
  it.each([
    'project = ABC',
    'project IN (ABC, "DEF") AND issuetype = Bug',
    'status != Done OR (assignee = "5b10a2844c20165700ede21g" AND reporter NOT IN (a, b))',
    'issueKey = ABC-1',
    'cf[10014] = "EPIC-1"',
    'issue.property[support].level = high',
    "project = 'My Project'",
  ])('accepts %s', (jql) => expect(() => assertWebhookJql(jql)).not.toThrow());

  it.each([
    ['', /empty/],
    ['summary ~ "x"', /not a field/],
    ['project ~ ABC', /operator/],
    ['project = ABC ORDER BY created', /unexpected "ORDER"/],
    ['assignee = currentUser()', /functions/],
    ['project IN (ABC', /expected "\)"/],
    ['project is EMPTY', /operator/],
    ['project = ABC AND', /not a field/],
    ['created > -1d', /not a field/],
  ])('refuses %s', (jql, message) => expect(() => assertWebhookJql(jql)).toThrow(message));
});

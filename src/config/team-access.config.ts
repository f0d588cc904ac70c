import { registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Max, Min, MinLength } from 'class-validator';
import { TEAM_ROLES, type TeamRole } from '../integrations/jira/teams/team-role.js';
import { EnvValidationError, validateEnv } from '../integrations/jira/config/validate-env.js';
import { Describe } from '../integrations/jira/config/describe.js';

export const TEAM_ACCESS_POLICIES = ['table', 'claims', 'http'] as const;
export type TeamAccessPolicyKind = (typeof TEAM_ACCESS_POLICIES)[number];

export class TeamAccessEnv {
  /** Where membership comes from: `team_members` (table), the bearer token (claims), or the product over HTTP. */
  @IsIn(TEAM_ACCESS_POLICIES)
  @Describe('where a user\'s role in a team comes from: the `team_members` table, the bearer token\'s claims, or the product over HTTP')
  TEAM_ACCESS_POLICY: TeamAccessPolicyKind = 'table';

  /** claims: the claim holding `{ "<teamId>": role }` or `[{ id, role }]`. */
  @IsString()
  @Describe('claims: the claim holding `{ "<teamId>": role }` or `[{ id, role }]`')
  AUTH_TEAMS_CLAIM: string = 'teams';

  /** claims and http: the product's role names to ours, e.g. `org:admin=admin,org:member=member`. */
  @IsOptional()
  @IsString()
  @Describe('claims, http: the product\'s role names to ours, `productRole=owner|admin|member`, comma-separated')
  AUTH_ROLE_MAP?: string;

  /** http: GET URL with `{teamId}` and `{userId}` placeholders, answering `{ "role": … }`, or 404/403. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'TEAM_ACCESS_URL must be an http(s) URL' })
  @Describe('http (required): GET URL with `{teamId}` and `{userId}` placeholders, answering 200 `{ "role": … }`, or 404/403')
  TEAM_ACCESS_URL?: string;

  /** http: sent as `Authorization: Bearer <token>` so the product can tell this service's calls apart. */
  @IsOptional()
  @MinLength(16, { message: 'TEAM_ACCESS_TOKEN must be at least 16 characters long' })
  @Describe('http: sent as `Authorization: Bearer …` so the product can tell this service\'s calls apart')
  TEAM_ACCESS_TOKEN?: string;

  @IsInt()
  @Min(100)
  @Max(30_000)
  @Describe('http: per request; no answer in time is 503 `team_access_unavailable`')
  TEAM_ACCESS_TIMEOUT_MS: number = 3_000;

  /** http: how long an answer (member or not) is reused; 0 asks every time. Failures are never cached. */
  @IsInt()
  @Min(0)
  @Max(3_600)
  @Describe('http: how long an answer (member or not) is reused per instance; 0 asks every time; failures are never cached')
  TEAM_ACCESS_CACHE_SECONDS: number = 30;

  /** http: the largest answer read; a larger one is a failure (503), never a grant. */
  @IsInt()
  @Min(1)
  @Max(1_024)
  @Describe('http: the largest answer read; a larger one is 503 `team_access_unavailable`, never a grant')
  TEAM_ACCESS_MAX_ANSWER_KB: number = 16;
}

export interface TeamAccessSettings {
  policy: TeamAccessPolicyKind;
  teamsClaim: string;
  roleMap: Map<string, TeamRole>;
  url?: string;
  token?: string;
  timeoutMs: number;
  cacheMs: number;
  maxAnswerBytes: number;
}

/** `org:admin=admin,org:member=member` → Map; every target must be one of our roles. */
export function parseRoleMap(value: string | undefined): Map<string, TeamRole> {
  const map = new Map<string, TeamRole>();
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    const from = entry.slice(0, at).trim();
    const to = entry.slice(at + 1).trim();
    if (at <= 0 || !(TEAM_ROLES as readonly string[]).includes(to)) {
      throw new EnvValidationError([`AUTH_ROLE_MAP entry "${entry}" must be <product role>=${TEAM_ROLES.join('|')}`]);
    }
    map.set(from, to as TeamRole);
  }
  return map;
}

export function readTeamAccessSettings(env: NodeJS.ProcessEnv = process.env): TeamAccessSettings {
  const parsed = validateEnv(TeamAccessEnv, env);
  if (parsed.TEAM_ACCESS_POLICY === 'http') {
    const url = parsed.TEAM_ACCESS_URL;
    if (!url || !url.includes('{teamId}') || !url.includes('{userId}')) {
      throw new EnvValidationError(['TEAM_ACCESS_POLICY=http needs TEAM_ACCESS_URL with {teamId} and {userId} placeholders']);
    }
  }
  return {
    policy: parsed.TEAM_ACCESS_POLICY,
    teamsClaim: parsed.AUTH_TEAMS_CLAIM,
    roleMap: parseRoleMap(parsed.AUTH_ROLE_MAP),
    url: parsed.TEAM_ACCESS_URL,
    token: parsed.TEAM_ACCESS_TOKEN,
    timeoutMs: parsed.TEAM_ACCESS_TIMEOUT_MS,
    cacheMs: parsed.TEAM_ACCESS_CACHE_SECONDS * 1000,
    maxAnswerBytes: parsed.TEAM_ACCESS_MAX_ANSWER_KB * 1024,
  };
}

export const teamAccessConfig = registerAs('teamAccess', () => readTeamAccessSettings());

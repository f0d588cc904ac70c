import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { CommonErrorCode } from './app-error.js';
import { PROBLEM_CONTENT_TYPE } from './problem-details.filter.js';
import { Problem, ValidationProblem } from './openapi/problem.schema.js';
import { DATABASE_UNAVAILABLE } from '../database/database-unavailable.js';
import { TEAM_ACCESS_UNAVAILABLE } from '../teams/team-access.policy.js';

/** Problem codes a route can answer, by HTTP status. */
export type ProblemSet = Readonly<Partial<Record<number, readonly string[]>>>;

/**
 * The codes that come with a kind of route, to combine in `@ApiProblems(...)`. A route lists the
 * sets that apply to it plus its own codes; test/openapi.e2e-spec.ts probes every documented
 * route and fails when the API answers a code its document does not list.
 */
export const ProblemSets = {
  /** Any route that needs `Authorization: Bearer` (i.e. not @Public()). */
  authenticated: { 401: [CommonErrorCode.Unauthenticated, CommonErrorCode.InvalidToken, CommonErrorCode.TokenLifetimeInvalid] },
  /** Routes behind TeamGuard (document them with @ApiTeamHeader() too); 503 when the team access policy cannot answer (http). */
  team: {
    400: [CommonErrorCode.TeamHeaderMissing, CommonErrorCode.TeamHeaderInvalid],
    403: [CommonErrorCode.NotTeamMember],
    503: [TEAM_ACCESS_UNAVAILABLE],
  },
  /** Routes restricted with @TeamRoles(...). */
  teamRole: { 403: [CommonErrorCode.InsufficientRole] },
  /** Routes that take a JSON body. */
  jsonBody: {
    400: [CommonErrorCode.ValidationFailed, CommonErrorCode.MalformedJson, CommonErrorCode.BodyTooDeep],
    413: [CommonErrorCode.PayloadTooLarge],
    415: [CommonErrorCode.UnsupportedMediaType],
  },
  /** Routes with validated query parameters. */
  query: { 400: [CommonErrorCode.ValidationFailed] },
  /** Routes behind the rate limiter (429 comes with Retry-After). */
  rateLimited: { 429: [CommonErrorCode.RateLimited] },
} satisfies Record<string, ProblemSet>;

/**
 * Every route can fail unexpectedly (500, the body says nothing about the cause), and every route
 * answers 503 database_unavailable with Retry-After while the database is stopped or frozen.
 */
const ALWAYS: ProblemSet = { 500: [CommonErrorCode.InternalError], 503: [DATABASE_UNAVAILABLE] };

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
};

function merge(sets: ProblemSet[]): Map<number, string[]> {
  const byStatus = new Map<number, string[]>();
  for (const set of sets) {
    for (const [status, codes] of Object.entries(set)) {
      const list = byStatus.get(Number(status)) ?? [];
      for (const code of codes ?? []) if (!list.includes(code)) list.push(code);
      byStatus.set(Number(status), list);
    }
  }
  return byStatus;
}

/** `Problem` narrowed to these codes; `validation_failed` is the `ValidationProblem` variant (with `errors`). */
function schemaFor(codes: string[]): object {
  const narrowed = (ref: string, only: string[]) => ({
    allOf: [{ $ref: ref }, { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: only } } }],
  });
  const others = codes.filter((c) => c !== CommonErrorCode.ValidationFailed);
  const variants = [
    ...(codes.includes(CommonErrorCode.ValidationFailed) ? [narrowed(getSchemaPath(ValidationProblem), [CommonErrorCode.ValidationFailed])] : []),
    ...(others.length > 0 ? [narrowed(getSchemaPath(Problem), others)] : []),
  ];
  return variants.length === 1 ? variants[0] : { oneOf: variants };
}

/**
 * Documents a route's problem-JSON answers, one response per status, each code an enum value:
 * `@ApiProblems(ProblemSets.authenticated, ProblemSets.rateLimited, { 409: [JiraErrorCode.NotConnected] })`.
 * 500 `internal_error` is added to every route.
 */
export function ApiProblems(...sets: ProblemSet[]): MethodDecorator & ClassDecorator {
  const byStatus = merge([...sets, ALWAYS]);
  return applyDecorators(
    ApiExtraModels(Problem, ValidationProblem),
    ...[...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) =>
      ApiResponse({
        status,
        description: `Problem JSON with code ${codes.map((c) => `\`${c}\``).join(', ')}`,
        ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: schemaFor(codes) } },
      }),
    ),
  );
}

/** Team routes: `X-Team-Id` names the team the caller acts for (required exactly on these routes). */
export function ApiTeamHeader(): MethodDecorator & ClassDecorator {
  return ApiHeader({
    name: 'X-Team-Id',
    required: true,
    description: 'The team this request acts for; the caller must be a member.',
    schema: { type: 'string', minLength: 1 },
  });
}

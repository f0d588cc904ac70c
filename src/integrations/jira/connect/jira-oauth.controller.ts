import { Body, Controller, Delete, Get, HttpCode, ParseBoolPipe, Post, Put, Query, Req, Res, UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiFoundResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { type AuthenticatedUser, CurrentUser } from '../auth/current-user.decorator.js';
import { Public } from '../auth/public.decorator.js';
import { ApiProblems, ApiTeamHeader, ProblemSets } from '../common/api-problems.decorator.js';
import { readCookie } from '../common/cookies.js';
import { ProblemDetailsFilter } from '../common/problem-details.filter.js';
import { createValidationPipe } from '../common/validation-pipe.js';
import { RateLimitGuard, RateLimitPerIp, RateLimitPerUser, RateLimitVerifyPerUser } from '../common/throttling/rate-limit.guard.js';
import { CurrentTeam, type TeamContext, TeamRoles } from '../teams/team.decorators.js';
import { TeamGuard } from '../teams/team.guard.js';
import { AuthorizeDto, AuthorizeResponseDto } from './dto/authorize.dto.js';
import { CALLBACK_PROBLEMS, CallbackRedirectQueryDto } from './dto/callback-redirect.dto.js';
import { CallbackResponseDto, ConnectionResponseDto, DisconnectResponseDto } from './dto/connection.dto.js';
import { SelectSiteDto } from './dto/select-site.dto.js';
import { ServiceAccountDto } from './dto/service-account.dto.js';
import { RequestUserGuard } from '../module/request-user.guard.js';
import { JiraConnectionService } from './jira-connection.service.js';
import { JiraOAuthService } from './jira-oauth.service.js';
import { JiraServiceAccountService } from './service-account.service.js';
import { bindingCookieName } from './oauth-state.store.js';
import { JiraErrorCode } from '../jira.errors.js';

/* Problem codes by kind of route (see ApiProblems); each route adds its own below. */
const MEMBER_ROUTE = [ProblemSets.authenticated, ProblemSets.team, ProblemSets.rateLimited];
const ADMIN_ROUTE = [...MEMBER_ROUTE, ProblemSets.teamRole];

/** The binding cookie authorize sets and the callback clears. */
const SET_COOKIE = {
  'Set-Cookie': {
    description: 'The HttpOnly, SameSite=Lax binding cookie `jc_jira_oauth_<hash>` scoped to the callback path '
      + '(set by authorize, cleared by the callback).',
    schema: { type: 'string' },
  },
};

const one = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

@ApiTags('Jira integration')
@Controller('api/integrations/jira')
// Controller guards run after the host's global authentication, so they see req.user.
@UseGuards(RequestUserGuard, RateLimitGuard)
// Problem JSON and our validation on these routes only: a host keeps its own filter and pipes elsewhere.
@UseFilters(ProblemDetailsFilter)
@UsePipes(createValidationPipe())
export class JiraOAuthController {
  constructor(
    private readonly oauth: JiraOAuthService,
    private readonly connections: JiraConnectionService,
    private readonly serviceAccounts: JiraServiceAccountService,
  ) {}

  @Post('oauth/authorize')
  @HttpCode(200)
  @UseGuards(TeamGuard)
  @TeamRoles('owner', 'admin')
  @RateLimitPerUser()
  @ApiBearerAuth()
  @ApiTeamHeader()
  @ApiOperation({
    summary: 'Start connecting Jira',
    description: 'Returns the Atlassian consent URL and sets an HttpOnly, SameSite=Lax binding cookie scoped to the '
      + 'callback path; the callback must come back to the same browser within 10 minutes. Owner or admin.',
  })
  @ApiBody({ type: AuthorizeDto, required: false, description: 'Optional: send nothing, `{}`, or either field.' })
  @ApiOkResponse({ type: AuthorizeResponseDto, headers: SET_COOKIE })
  @ApiProblems(...ADMIN_ROUTE, ProblemSets.jsonBody, {
    400: [JiraErrorCode.InvalidSiteUrl, JiraErrorCode.ReturnToNotAllowed],
    503: [JiraErrorCode.NotConfigured],
  })
  async authorize(
    @CurrentTeam() team: TeamContext,
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: AuthorizeDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.oauth.authorize(team.id, user.id, body);
    res.cookie(result.cookie.name, result.cookie.value, {
      httpOnly: true,
      sameSite: 'lax',
      path: result.cookie.path,
      secure: result.cookie.secure,
      maxAge: result.cookie.maxAgeMs,
    });
    res.setHeader('Cache-Control', 'no-store');
    return { data: { authorizationUrl: result.authorizationUrl, expiresAt: result.expiresAt } };
  }

  @Get('oauth/callback')
  @Public()
  @RateLimitPerIp()
  @ApiOperation({
    summary: 'Atlassian redirects the browser here',
    description: 'Checks the state (known, unexpired, unused, same browser), exchanges the code, reads '
      + 'accessible-resources and /me, and binds a site. With returnTo: 302 to returnTo?jira=connected|'
      + 'pending_site_selection|error&code=...; without: JSON. A failure with a known state (even expired, used, '
      + 'superseded or without its cookie) goes to that flow\'s returnTo; with an unknown or absent state to '
      + 'OAUTH_DEFAULT_RETURN_URL when set. Unknown query parameters (e.g. iss) are ignored.',
  })
  @ApiQuery({ name: 'state', type: String, required: true, description: 'The state authorize put in the consent URL.' })
  @ApiQuery({ name: 'code', type: String, required: false, description: 'The authorization code (on consent).' })
  @ApiQuery({ name: 'error', type: String, required: false, description: 'e.g. access_denied when consent was declined' })
  @ApiQuery({ name: 'error_description', type: String, required: false })
  @ApiOkResponse({ type: CallbackResponseDto, description: 'Connected, or waiting for a site choice (no returnTo)', headers: SET_COOKIE })
  @ApiExtraModels(CallbackRedirectQueryDto)
  @ApiFoundResponse({
    description: 'Redirect to returnTo with jira=connected|pending_site_selection, or jira=error&code=<one of the problem codes below>: '
      + `the query is \`${getSchemaPath(CallbackRedirectQueryDto)}\` (also \`x-redirect-query\`).`,
    headers: {
      Location: { description: 'returnTo with the outcome in its query string (CallbackRedirectQueryDto).', schema: { type: 'string', format: 'uri' } },
      ...SET_COOKIE,
    },
    // An OpenAPI extension (not in @nestjs/swagger's types): the schema of Location's query string.
    ...({ 'x-redirect-query': { $ref: getSchemaPath(CallbackRedirectQueryDto) } } as object),
  })
  @ApiProblems(ProblemSets.rateLimited, CALLBACK_PROBLEMS)
  async callback(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    // The URL carries the code: never leak it to returnTo through Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    const state = one(query.state);
    const cookieName = state ? bindingCookieName(state) : undefined;
    const cookie = cookieName ? one(readCookie(req, cookieName)) : undefined;
    const outcome = await this.oauth.callback({ state, code: one(query.code), error: one(query.error) }, cookie);
    // Cleared only once the state is used up or can never succeed: a cookie-less or foreign-cookie
    // callback leaves the rightful browser's cookie alone.
    if (cookieName && outcome.clearCookie) {
      const { path, secure } = this.oauth.cookieScope();
      res.clearCookie(cookieName, { httpOnly: true, sameSite: 'lax', path, secure });
    }
    // The request log line carries the problem code (see AppLoggerModule).
    if (!outcome.ok) res.locals.problemCode = outcome.error.code;
    if (outcome.returnTo) {
      const target = new URL(outcome.returnTo);
      target.searchParams.set('jira', outcome.ok ? outcome.result.status : 'error');
      if (!outcome.ok) target.searchParams.set('code', outcome.error.code);
      res.redirect(302, target.toString());
      return;
    }
    if (!outcome.ok) throw outcome.error;
    res.status(200).json({ data: outcome.result });
  }

  @Get('oauth/status')
  @UseGuards(TeamGuard)
  @RateLimitVerifyPerUser()
  @ApiBearerAuth()
  @ApiTeamHeader()
  @ApiOperation({ summary: 'The team\'s Jira connection', description: 'Any team member. No secrets are returned.' })
  @ApiQuery({ name: 'verify', required: false, type: Boolean, description: 'Also call Jira /rest/api/3/myself and report it' })
  @ApiOkResponse({ type: ConnectionResponseDto })
  @ApiProblems(...MEMBER_ROUTE, ProblemSets.query)
  async status(
    @CurrentTeam() team: TeamContext,
    // Typed `unknown` so the global ValidationPipe does not coerce "maybe" to false before ParseBoolPipe.
    @Query('verify', new ParseBoolPipe({ optional: true })) verify?: unknown,
  ) {
    return { data: verify === true ? await this.connections.verifiedStatus(team.id) : await this.connections.status(team.id) };
  }

  @Put('site')
  @UseGuards(TeamGuard)
  @TeamRoles('owner', 'admin')
  @RateLimitPerUser()
  @ApiBearerAuth()
  @ApiTeamHeader()
  @ApiOperation({ summary: 'Choose the Jira site', description: 'Picks one of availableSites while the status is pending_site_selection. Owner or admin.' })
  @ApiOkResponse({ type: ConnectionResponseDto })
  @ApiProblems(...ADMIN_ROUTE, ProblemSets.jsonBody, {
    409: [JiraErrorCode.NotConnected, JiraErrorCode.NoPendingSiteSelection],
    422: [JiraErrorCode.SiteNotAccessible],
  })
  async selectSite(@CurrentTeam() team: TeamContext, @Body() body: SelectSiteDto) {
    return { data: await this.connections.selectSite(team.id, body.cloudId) };
  }

  @Put('service-account')
  @UseGuards(TeamGuard)
  @TeamRoles('owner', 'admin')
  @RateLimitPerUser()
  @ApiBearerAuth()
  @ApiTeamHeader()
  @ApiOperation({
    summary: 'Connect Jira with a service account',
    description: 'Connects the team through an Atlassian service account\'s OAuth 2.0 credential (client credentials). '
      + 'A token is minted and the site must be among its accessible resources before anything is stored; the secret is '
      + 'stored encrypted and never returned. Replaces a 3LO connection (a later 3LO connect replaces it in turn); '
      + 'DELETE oauth/disconnect removes it. Dynamic webhooks are not available to service accounts. Owner or admin.',
  })
  @ApiOkResponse({ type: ConnectionResponseDto })
  @ApiProblems(...ADMIN_ROUTE, ProblemSets.jsonBody, {
    400: [JiraErrorCode.InvalidSiteUrl],
    422: [JiraErrorCode.ServiceAccountRejected, JiraErrorCode.SiteNotAccessible],
    502: [JiraErrorCode.AtlassianUnavailable],
  })
  async connectServiceAccount(@CurrentTeam() team: TeamContext, @CurrentUser() user: AuthenticatedUser, @Body() body: ServiceAccountDto) {
    return { data: await this.serviceAccounts.connect(team.id, user.id, body) };
  }

  @Delete('oauth/disconnect')
  @UseGuards(TeamGuard)
  @TeamRoles('owner', 'admin')
  @RateLimitPerUser()
  @ApiBearerAuth()
  @ApiTeamHeader()
  @ApiOperation({
    summary: 'Disconnect Jira',
    description: 'Deletes the team\'s tokens and pending OAuth states; idempotent. Atlassian has no revocation endpoint '
      + 'for 3LO apps, so the answer says where to remove the app (Connected apps). Owner or admin.',
  })
  @ApiOkResponse({ type: DisconnectResponseDto })
  @ApiProblems(...ADMIN_ROUTE)
  async disconnect(@CurrentTeam() team: TeamContext) {
    return { data: await this.connections.disconnect(team.id) };
  }
}

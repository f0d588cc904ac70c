import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JiraErrorCode } from '../../jira.errors.js';

/** Response shapes, for the OpenAPI document only (the services return plain objects). */

export class SiteDto {
  @ApiProperty({ description: 'Atlassian cloudId (accessible-resources `id`).' })
  cloudId: string;

  @ApiProperty({ example: 'https://acme.atlassian.net' })
  url: string;

  @ApiProperty()
  name: string;
}

export class ConnectedByDto {
  @ApiProperty({ nullable: true, type: String, description: "The product's user id (opaque)." })
  userId: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'From Atlassian /me, when the read:me scope was granted; '
    + 'null once Atlassian reported the account closed (personal data erased).' })
  atlassianAccountId: string | null;

  @ApiProperty({ nullable: true, type: String })
  atlassianAccountName: string | null;

  @ApiProperty({ nullable: true, type: Boolean, description: 'False once the user who connected left the team (the integration keeps '
    + 'working on their grant: ask someone to reconnect). Null when the team access policy (claims, http) cannot see membership changes.' })
  isMember: boolean | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'When they left the team.' })
  leftAt: string | null;
}

export class LastErrorDto {
  @ApiProperty({ enum: JiraErrorCode, enumName: 'JiraErrorCode', description: 'Why the last token refresh or read failed.' })
  code: JiraErrorCode;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  at: string | null;
}

export class VerificationDto {
  @ApiProperty({ description: 'True when Jira answered /rest/api/3/myself with the stored token.' })
  ok: boolean;

  @ApiPropertyOptional({ enum: JiraErrorCode, enumName: 'JiraErrorCode', description: 'Problem code when the check failed.' })
  code?: JiraErrorCode;

  @ApiPropertyOptional()
  accountId?: string;
}

export class LastRateLimitedDto {
  @ApiProperty({ description: 'Atlassian\'s RateLimit-Reason, e.g. jira-burst-based, jira-quota-tenant-based.' })
  reason: string;

  @ApiProperty({ type: String, format: 'date-time' })
  at: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'When the limited scope may be called again.' })
  retryAt: string;
}

export class AppRateLimitDto {
  @ApiProperty({ description: 'Less than 20 % of the app\'s global points pool is left.' })
  nearLimit: boolean;

  @ApiProperty({ nullable: true, type: Number })
  remaining: number | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  resetAt: string | null;
}

export class RateLimitDto {
  @ApiProperty({ description: 'Atlassian says less than 20 % of a budget of this site is left; calls are paced.' })
  nearLimit: boolean;

  @ApiProperty({ nullable: true, type: Number, description: 'Points (or requests) left in the site\'s current window.' })
  remaining: number | null;

  @ApiProperty({ nullable: true, type: Number })
  limit: number | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  resetAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'Calls of this site wait (or fail with 503 atlassian_rate_limited) until then.' })
  blockedUntil: string | null;

  @ApiProperty({ type: LastRateLimitedDto, nullable: true })
  lastRateLimited: LastRateLimitedDto | null;

  @ApiProperty({ type: AppRateLimitDto })
  app: AppRateLimitDto;
}

export class WebhooksStatusDto {
  @ApiProperty({ enum: ['disabled', 'unsupported', 'not_registered', 'pending', 'active', 'failed', 'inactive', 'expired'],
    description: '`unsupported`: a service-account connection (Atlassian offers dynamic webhooks to 3LO apps only); none are registered.' })
  state: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'When Jira drops the webhooks unless refreshed.' })
  expiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastDeliveryAt: string | null;
}

export class ConnectionDto {
  @ApiProperty({ enum: ['not_connected', 'pending_site_selection', 'connected', 'reauthorization_required'] })
  status: string;

  @ApiProperty({ enum: ['oauth', 'service_account'], nullable: true, type: String, description: 'How the team connected: a user\'s '
    + 'OAuth 2.0 (3LO) grant, or a service account\'s client credentials (PUT /api/integrations/jira/service-account); null when not connected.' })
  connectionType: 'oauth' | 'service_account' | null;

  @ApiProperty({ type: SiteDto, nullable: true })
  site: SiteDto | null;

  @ApiPropertyOptional({ type: [SiteDto], description: 'Present while status is pending_site_selection.' })
  availableSites?: SiteDto[];

  @ApiProperty({ type: [String] })
  scopes: string[];

  @ApiProperty({ type: ConnectedByDto, nullable: true })
  connectedBy: ConnectedByDto | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  connectedAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: '365 days after the user consented, kept across refreshes '
    + 'and reset by a reconnect: Atlassian ends the grant then. `reconsent_due` notifications come 30 and 7 days before. '
    + 'Null for a service account (no user consent to expire).' })
  consentExpiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  accessTokenExpiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastRefreshedAt: string | null;

  @ApiPropertyOptional({ type: LastErrorDto })
  lastError?: LastErrorDto;

  @ApiPropertyOptional({ type: WebhooksStatusDto, description: 'Managed Jira webhooks of the team.' })
  webhooks?: WebhooksStatusDto;

  @ApiPropertyOptional({ type: VerificationDto, description: 'Only with ?verify=true.' })
  verification?: VerificationDto;

  @ApiPropertyOptional({ type: RateLimitDto, description: 'Atlassian rate-limit state of the site; present once a site is chosen.' })
  rateLimit?: RateLimitDto;
}

export class ConnectionResponseDto {
  @ApiProperty({ type: ConnectionDto })
  data: ConnectionDto;
}

export class CallbackResultDto {
  @ApiProperty({ enum: ['connected', 'pending_site_selection'] })
  status: string;

  @ApiProperty({ type: SiteDto, nullable: true })
  site: SiteDto | null;

  @ApiPropertyOptional({ type: [SiteDto] })
  availableSites?: SiteDto[];
}

export class CallbackResponseDto {
  @ApiProperty({ type: CallbackResultDto })
  data: CallbackResultDto;
}

export class RemoveAppAtDto {
  @ApiProperty({ example: 'https://id.atlassian.com/manage-profile/apps' })
  user: string;

  @ApiProperty({ example: 'https://admin.atlassian.com' })
  admin: string;
}

export class DisconnectDto {
  @ApiProperty({ enum: ['not_connected'] })
  status: string;

  @ApiProperty({ description: 'False when there was nothing to disconnect (the call is idempotent).' })
  wasConnected: boolean;

  @ApiProperty({ type: RemoveAppAtDto })
  removeAppAt: RemoveAppAtDto;

  @ApiProperty()
  message: string;
}

export class DisconnectResponseDto {
  @ApiProperty({ type: DisconnectDto })
  data: DisconnectDto;
}

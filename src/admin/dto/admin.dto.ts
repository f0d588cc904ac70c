import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { JIRA_CONNECTION_TYPES, JIRA_INTEGRATION_STATUSES, type JiraConnectionType, type JiraIntegrationStatus } from '../../integrations/jira/entities/jira-integration.entity.js';
import { JiraErrorCode } from '../../integrations/jira/jira.errors.js';
import { TEAM_ROLES, type TeamRole } from '../../integrations/jira/teams/team-role.js';

export class PutMemberDto {
  @ApiProperty({ enum: TEAM_ROLES })
  @IsIn(TEAM_ROLES)
  role: TeamRole;
}

export class ListIntegrationsQueryDto {
  @ApiPropertyOptional({ enum: JIRA_INTEGRATION_STATUSES, description: 'Only integrations in this status.' })
  @IsOptional()
  @IsIn(JIRA_INTEGRATION_STATUSES)
  status?: JiraIntegrationStatus;

  @ApiPropertyOptional({ type: String, format: 'date-time', example: '2027-01-31T00:00:00Z',
    description: 'Only integrations whose 365-day consent expires before this instant (e.g. now + 30 days: the teams to ask to reconnect).' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'consentExpiresBefore must be an ISO 8601 date-time' })
  consentExpiresBefore?: string;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

class AdminSiteDto {
  @ApiProperty() cloudId: string;
  @ApiProperty({ nullable: true, type: String }) url: string | null;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
}

class AdminLastErrorDto {
  @ApiProperty({ enum: JiraErrorCode, enumName: 'JiraErrorCode' }) code: JiraErrorCode;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) at: Date | null;
}

class AdminConnectedByDto {
  @ApiProperty({ nullable: true, type: String, description: "The product's user id of who connected." }) userId: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time',
    description: 'When they stopped being a member of the team (table policy); null while a member or when the policy cannot tell.' })
  leftAt: Date | null;
}

export class AdminIntegrationDto {
  @ApiProperty() teamId: string;
  @ApiProperty({ enum: JIRA_INTEGRATION_STATUSES }) status: JiraIntegrationStatus;
  @ApiProperty({ enum: JIRA_CONNECTION_TYPES, description: 'A user\'s OAuth 2.0 (3LO) grant, or a service account (client credentials).' })
  connectionType: JiraConnectionType;
  @ApiProperty({ type: AdminSiteDto, nullable: true }) site: AdminSiteDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) connectedAt: Date | null;
  @ApiProperty({ type: AdminLastErrorDto, nullable: true }) lastError: AdminLastErrorDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) accessTokenExpiresAt: Date | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time',
    description: '365 days after the user consented (kept across refreshes, reset by a reconnect): Atlassian ends the grant then.' })
  consentExpiresAt: Date | null;
  @ApiProperty({ type: AdminConnectedByDto }) connectedBy: AdminConnectedByDto;
}

export class AdminIntegrationPageDto {
  @ApiProperty({ type: [AdminIntegrationDto] }) data: AdminIntegrationDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null on the last page.' })
  nextCursor: string | null;
}

class TeamDeletionDto {
  @ApiProperty() teamId: string;
  @ApiProperty({ description: 'False when there was none (already deleted or never connected).' }) integrationDeleted: boolean;
  @ApiProperty({ description: 'False when the team row did not exist.' }) teamDeleted: boolean;
}

export class TeamDeletionResponseDto {
  @ApiProperty({ type: TeamDeletionDto }) data: TeamDeletionDto;
}

class MembershipDto {
  @ApiProperty() teamId: string;
  @ApiProperty() userId: string;
  @ApiProperty({ enum: TEAM_ROLES }) role: TeamRole;
}

export class MembershipResponseDto {
  @ApiProperty({ type: MembershipDto }) data: MembershipDto;
}

class MemberRemovalDto {
  @ApiProperty({ description: 'False when there was no such membership.' }) removed: boolean;
  @ApiProperty({ description: 'True when the user had connected the team\'s Jira: the integration keeps working and `connector_left` was sent.' })
  connectorLeft: boolean;
}

export class MemberRemovalResponseDto {
  @ApiProperty({ type: MemberRemovalDto }) data: MemberRemovalDto;
}

export class DeadLettersQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

class DeadLetterDto {
  @ApiProperty({ description: 'Our id of the stored event (for retry).' }) id: string;
  @ApiProperty() teamId: string;
  @ApiProperty({ description: "Jira's X-Atlassian-Webhook-Identifier." }) deliveryId: string;
  @ApiProperty({ example: 'jira:issue_updated' }) webhookEvent: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String, description: 'The last handler error message.' }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt: Date;
}

export class DeadLettersResponseDto {
  @ApiProperty({ type: [DeadLetterDto] }) data: DeadLetterDto[];
}

class DeadLetterRetryDto {
  @ApiProperty({ description: 'True: queued again with a fresh set of attempts.' }) requeued: boolean;
}

export class DeadLetterRetryResponseDto {
  @ApiProperty({ type: DeadLetterRetryDto }) data: DeadLetterRetryDto;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { JIRA_INTEGRATION_STATUSES, type JiraIntegrationStatus } from '../../integrations/jira/entities/jira-integration.entity.js';
import { TEAM_ROLES, type TeamRole } from '../../teams/entities/team-member.entity.js';

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
  @ApiProperty() code: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) at: Date | null;
}

export class AdminIntegrationDto {
  @ApiProperty() teamId: string;
  @ApiProperty({ enum: JIRA_INTEGRATION_STATUSES }) status: JiraIntegrationStatus;
  @ApiProperty({ type: AdminSiteDto, nullable: true }) site: AdminSiteDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) connectedAt: Date | null;
  @ApiProperty({ type: AdminLastErrorDto, nullable: true }) lastError: AdminLastErrorDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) accessTokenExpiresAt: Date | null;
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
}

export class MemberRemovalResponseDto {
  @ApiProperty({ type: MemberRemovalDto }) data: MemberRemovalDto;
}

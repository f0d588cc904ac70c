import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

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

  @ApiProperty({ nullable: true, type: String, description: 'From Atlassian /me, when the read:me scope was granted.' })
  atlassianAccountId: string | null;

  @ApiProperty({ nullable: true, type: String })
  atlassianAccountName: string | null;
}

export class LastErrorDto {
  @ApiProperty()
  code: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  at: string | null;
}

export class VerificationDto {
  @ApiProperty({ description: 'True when Jira answered /rest/api/3/myself with the stored token.' })
  ok: boolean;

  @ApiPropertyOptional({ description: 'Problem code when the check failed.' })
  code?: string;

  @ApiPropertyOptional()
  accountId?: string;
}

export class ConnectionDto {
  @ApiProperty({ enum: ['not_connected', 'pending_site_selection', 'connected', 'reauthorization_required'] })
  status: string;

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

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  accessTokenExpiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastRefreshedAt: string | null;

  @ApiPropertyOptional({ type: LastErrorDto })
  lastError?: LastErrorDto;

  @ApiPropertyOptional({ type: VerificationDto, description: 'Only with ?verify=true.' })
  verification?: VerificationDto;
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

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class AuthorizeDto {
  @ApiPropertyOptional({
    description: 'The Jira Cloud site to bind, if the user grants several: `acme`, `acme.atlassian.net` or `https://acme.atlassian.net`.',
    example: 'acme.atlassian.net',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  siteUrl?: string;

  @ApiPropertyOptional({
    description: 'Where the browser goes after the callback; must be on an origin in OAUTH_RETURN_ORIGINS. '
      + 'Receives `jira=connected|pending_site_selection|error` and, on error, `code`.',
    example: 'https://app.example.com/settings/integrations',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  returnTo?: string;
}

export class AuthorizeResultDto {
  @ApiProperty({ description: 'Send the browser here (Atlassian consent screen).' })
  authorizationUrl: string;

  @ApiProperty({ description: 'The state expires at this time (10 minutes).', format: 'date-time' })
  expiresAt: string;
}

export class AuthorizeResponseDto {
  @ApiProperty({ type: AuthorizeResultDto })
  data: AuthorizeResultDto;
}

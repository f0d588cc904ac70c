import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** An organisation admin's OAuth 2.0 (client credentials) credential of an Atlassian service account. */
export class ServiceAccountDto {
  @ApiProperty({ description: 'Client ID of the service account\'s OAuth 2.0 credential (Atlassian Administration > Directory > Service accounts).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  clientId: string;

  @ApiProperty({ description: 'Its client secret. Stored encrypted; never returned or logged.', format: 'password', writeOnly: true })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  clientSecret: string;

  @ApiProperty({ description: 'The Jira Cloud site to use: "acme", "acme.atlassian.net" or "https://acme.atlassian.net". '
    + 'It must be among the sites the credential can reach (the service account has a role there).', example: 'https://acme.atlassian.net' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  siteUrl: string;
}

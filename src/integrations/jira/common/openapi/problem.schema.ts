import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** RFC 9457 problem JSON as every error is sent: the one shared schema (`#/components/schemas/Problem`). */
export class Problem {
  @ApiProperty({ example: 'https://jira-connect.dev/problems/rate_limited' })
  type: string;

  @ApiProperty({ description: 'Short, human summary.' })
  title: string;

  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated.' })
  status: number;

  @ApiPropertyOptional({ description: 'What happened and what to do next, for people.' })
  detail?: string;

  @ApiPropertyOptional({ description: 'The request path.' })
  instance?: string;

  @ApiProperty({
    description: 'Stable machine-readable reason: branch on this. Each response lists the codes it can carry '
      + '(as an enum); a code a client does not know should be treated like the status alone.',
  })
  code: string;
}

/** `validation_failed` also lists every broken rule, one message each. */
export class ValidationProblem extends Problem {
  @ApiProperty({ type: [String], example: ['siteUrl must be a string', 'property extra should not exist'] })
  errors: string[];
}

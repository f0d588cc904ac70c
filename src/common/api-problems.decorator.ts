import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

/** Documents problem-JSON answers: `{ 403: ['not_team_member', 'insufficient_role'], ... }`. */
export function ApiProblems(problems: Record<number, string[]>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(problems).map(([status, codes]) =>
      ApiResponse({
        status: Number(status),
        description: `Problem JSON (application/problem+json) with code ${codes.map((c) => `\`${c}\``).join(', ')}`,
        content: {
          'application/problem+json': {
            schema: {
              type: 'object',
              required: ['type', 'title', 'status', 'code'],
              properties: {
                type: { type: 'string' },
                title: { type: 'string' },
                status: { type: 'integer', example: Number(status) },
                detail: { type: 'string' },
                instance: { type: 'string' },
                code: { type: 'string', enum: codes },
              },
            },
          },
        },
      }),
    ),
  );
}

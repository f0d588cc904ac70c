import { ValidationPipe } from '@nestjs/common';

/** Body and query validation: unknown fields refused, DTOs transformed. Global in the standalone server, and on the Jira routes in a host. */
export const createValidationPipe = (): ValidationPipe =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
  });

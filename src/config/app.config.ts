import { registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { RuntimeEnv } from './runtime.env.js';
import { parseOrigins, validateEnv } from './validate-env.js';

export class AppEnv extends RuntimeEnv {
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** Express `trust proxy` setting, so per-IP rate limits see the client behind a load balancer. */
  @IsOptional()
  @IsString()
  TRUST_PROXY?: string;

  /** Origins whose browsers may call the API (CORS, with credentials); default OAUTH_RETURN_ORIGINS. */
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @IsOptional()
  @IsString()
  OAUTH_RETURN_ORIGINS?: string;
}

export const appConfig = registerAs('app', () => {
  const env = validateEnv(AppEnv);
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    dataDir: env.DATA_DIR,
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS
      ? parseOrigins('CORS_ORIGINS', env.CORS_ORIGINS)
      : parseOrigins('OAUTH_RETURN_ORIGINS', env.OAUTH_RETURN_ORIGINS),
  };
});

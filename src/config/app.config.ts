import { registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, Validate } from 'class-validator';
import { RuntimeEnv } from '../integrations/jira/config/runtime.env.js';
import { parseTrustProxy, TrustProxyConstraint } from './trust-proxy.js';
import { parseOrigins, validateEnv } from '../integrations/jira/config/validate-env.js';
import { Describe } from '../integrations/jira/config/describe.js';

const PORT_RANGE = 'PORT must be a whole number from 0 to 65535';

export class AppEnv extends RuntimeEnv {
  @IsInt({ message: PORT_RANGE })
  @Min(0, { message: PORT_RANGE })
  @Max(65535, { message: PORT_RANGE })
  @Describe('HTTP port')
  PORT: number = 3000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  @Describe('pino log level')
  LOG_LEVEL: string = 'info';

  /** Express `trust proxy` setting, so per-IP rate limits see the client behind a load balancer. */
  @IsOptional()
  @Validate(TrustProxyConstraint)
  @Describe('Express `trust proxy`: `true`, `false`, a hop count (`1` behind one load balancer), or proxy IPs/subnets (`10.0.0.0/8, loopback`), so per-IP limits see the client', { default: '`false`' })
  TRUST_PROXY?: string;

  /** Origins whose browsers may call the API (CORS, with credentials); default OAUTH_RETURN_ORIGINS. */
  @IsOptional()
  @IsString()
  @Describe('comma-separated origins whose browsers may call the API (CORS with credentials)', { default: '`OAUTH_RETURN_ORIGINS`' })
  CORS_ORIGINS?: string;

  @IsOptional()
  @IsString()
  @Describe('comma-separated origins `returnTo` may point at (and the default of `CORS_ORIGINS`)')
  OAUTH_RETURN_ORIGINS?: string;
}

export function readAppSettings(processEnv: NodeJS.ProcessEnv = process.env) {
  const env = validateEnv(AppEnv, processEnv);
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    dataDir: env.DATA_DIR,
    trustProxy: parseTrustProxy(env.TRUST_PROXY) ?? false,
    corsOrigins: env.CORS_ORIGINS
      ? parseOrigins('CORS_ORIGINS', env.CORS_ORIGINS)
      : parseOrigins('OAUTH_RETURN_ORIGINS', env.OAUTH_RETURN_ORIGINS),
  };
}

export const appConfig = registerAs('app', () => readAppSettings());

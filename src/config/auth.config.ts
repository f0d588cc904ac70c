import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min, MinLength } from 'class-validator';
import { devSecret } from '../integrations/jira/config/dev-secrets.js';
import { RuntimeEnv } from '../integrations/jira/config/runtime.env.js';
import { EnvValidationError, isPlaceholder, validateEnv } from '../integrations/jira/config/validate-env.js';
import { Describe } from '../integrations/jira/config/describe.js';

const MAX_AGE_RANGE = 'AUTH_JWT_MAX_AGE_SECONDS must be whole seconds from 60 to 2592000 (30 days)';

export class AuthEnv extends RuntimeEnv {
  /** HS256 shared secret, at least 32 characters. */
  @IsOptional()
  @MinLength(32, { message: 'AUTH_JWT_SECRET must be at least 32 characters long' })
  @Describe('HS256 secret of the product\'s bearer tokens', { default: 'generated in development' })
  AUTH_JWT_SECRET?: string;

  /** RS256/ES256 verification keys from the identity provider. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'AUTH_JWKS_URL must be an http(s) URL' })
  @Describe('verify RS256/ES256 bearer tokens with this identity provider\'s keys instead of `AUTH_JWT_SECRET`')
  AUTH_JWKS_URL?: string;

  @IsOptional()
  @IsString()
  @Describe('expected `iss` of bearer tokens')
  AUTH_JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  @Describe('expected `aud` of bearer tokens')
  AUTH_JWT_AUDIENCE?: string;

  /** Longest bearer-token life accepted: `exp - iat`, and `exp - now`, must not exceed it. */
  @IsInt({ message: MAX_AGE_RANGE })
  @Min(60, { message: MAX_AGE_RANGE })
  @Max(30 * 86_400, { message: MAX_AGE_RANGE })
  @Describe('longest bearer-token life accepted: both `exp - iat` and `exp - now` must be within it (401 `token_lifetime_invalid` otherwise); set it to your identity provider\'s session-token lifetime')
  AUTH_JWT_MAX_AGE_SECONDS: number = 86_400;
}

export interface AuthSettings {
  /** HS256 secret; in development generated when neither it nor a JWKS URL is configured. */
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Tokens must carry `exp`, at most this many seconds after `iat` (and after now). */
  maxTokenAgeSeconds: number;
  /** True when the secret came from DATA_DIR rather than the environment. */
  generatedSecret: boolean;
}

export function readAuthSettings(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  const parsed = validateEnv(AuthEnv, env);
  let secret = parsed.AUTH_JWT_SECRET;
  let generated = false;
  if (secret && isPlaceholder(secret)) secret = undefined;
  if (!secret && !parsed.AUTH_JWKS_URL) {
    if (parsed.NODE_ENV === 'production') {
      throw new EnvValidationError(['AUTH_JWT_SECRET or AUTH_JWKS_URL is required in production']);
    }
    secret = devSecret(parsed.DATA_DIR, 'AUTH_JWT_SECRET', 48);
    generated = true;
  }
  return {
    jwtSecret: secret,
    jwksUrl: parsed.AUTH_JWKS_URL,
    issuer: parsed.AUTH_JWT_ISSUER,
    audience: parsed.AUTH_JWT_AUDIENCE,
    maxTokenAgeSeconds: parsed.AUTH_JWT_MAX_AGE_SECONDS,
    generatedSecret: generated,
  };
}

export const authConfig = registerAs('auth', () => readAuthSettings());

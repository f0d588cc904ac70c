import { SignJWT } from 'jose';
import type { AuthSettings } from '../config/auth.config.js';

/**
 * An HS256 token for a user, signed with the settings the API verifies with (the development
 * CLI and the tests; production tokens come from the product's identity provider).
 */
export async function signHs256Token(auth: AuthSettings, userId: string, ttlSeconds: number): Promise<string> {
  if (!auth.jwtSecret) throw new Error('Signing needs AUTH_JWT_SECRET (with only AUTH_JWKS_URL the API verifies tokens it cannot mint)');
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime(`${ttlSeconds}s`);
  if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience) jwt = jwt.setAudience(auth.audience);
  return jwt.sign(new TextEncoder().encode(auth.jwtSecret));
}

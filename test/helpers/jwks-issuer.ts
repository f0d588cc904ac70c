import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/** An identity provider on 127.0.0.1: serves a JWKS and signs RS256 tokens with any claims. */
export class JwksIssuer {
  readonly issuer = 'https://idp.example.test';
  readonly audience = 'jira-connect';
  private server: Server | null = null;
  private privateKey: CryptoKey | null = null;

  async start(): Promise<this> {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    this.privateKey = privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    this.server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  /** AUTH_* variables that make the app verify this issuer's tokens. */
  env(): Record<string, string | undefined> {
    const url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/.well-known/jwks.json`;
    return { AUTH_JWKS_URL: url, AUTH_JWT_ISSUER: this.issuer, AUTH_JWT_AUDIENCE: this.audience, AUTH_JWT_SECRET: undefined };
  }

  sign(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject(sub).setIssuer(this.issuer)
      .setAudience(this.audience).setIssuedAt().setExpirationTime('5m').sign(this.privateKey!);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

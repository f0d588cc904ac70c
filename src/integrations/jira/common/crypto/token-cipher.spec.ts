import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionError, keyIdOf, TokenCipher } from './token-cipher.js';

const key = () => randomBytes(32);

/** Flips one character of the chosen envelope part, keeping it valid base64url. */
function tamper(envelope: string, part: number): string {
  const parts = envelope.split(':');
  const s = parts[part];
  parts[part] = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  return parts.join(':');
}

describe('TokenCipher', () => {
  it('round-trips and never stores the plaintext', () => {
    const c = new TokenCipher(key());
    const secret = 'at-' + randomBytes(24).toString('base64url');
    const env = c.encrypt(secret, 'access_token');
    expect(env).toMatch(/^v1:[\w-]{8}:[\w-]+:[\w-]+:[\w-]+$/);
    expect(env).not.toContain(secret);
    expect(c.decrypt(env, 'access_token')).toBe(secret);
  });

  it('uses a fresh IV per write', () => {
    const c = new TokenCipher(key());
    const a = c.encrypt('same', 'refresh_token');
    const b = c.encrypt('same', 'refresh_token');
    expect(a).not.toBe(b);
    expect(a.split(':')[2]).not.toBe(b.split(':')[2]);
  });

  it('detects tampering with the ciphertext, tag or IV', () => {
    const c = new TokenCipher(key());
    const env = c.encrypt('a secret value', 'access_token');
    for (const part of [2, 3, 4]) {
      expect(() => c.decrypt(tamper(env, part), 'access_token'), `part ${part}`).toThrow(DecryptionError);
    }
  });

  it('binds a value to its column (additional authenticated data)', () => {
    const c = new TokenCipher(key());
    const env = c.encrypt('rt-1', 'refresh_token');
    expect(() => c.decrypt(env, 'access_token')).toThrow(/authentication failed/);
  });

  it('still decrypts with a previous key, and reports values under it as stale', () => {
    const oldKey = key();
    const old = new TokenCipher(oldKey);
    const env = old.encrypt('legacy', 'access_token');
    const rotated = new TokenCipher(key(), [oldKey]);
    expect(rotated.decrypt(env, 'access_token')).toBe('legacy');
    expect(rotated.isStale(env)).toBe(true);
    expect(rotated.isStale(rotated.encrypt('new', 'access_token'))).toBe(false);
    expect(env.split(':')[1]).toBe(keyIdOf(oldKey));
  });

  it('refuses a value written with a key it no longer has', () => {
    const env = new TokenCipher(key()).encrypt('orphan', 'access_token');
    expect(() => new TokenCipher(key()).decrypt(env, 'access_token')).toThrow(/neither ENCRYPTION_KEY nor/);
  });

  it('rejects values that are not v1 envelopes', () => {
    const c = new TokenCipher(key());
    expect(() => c.decrypt('plaintext-token', 'access_token')).toThrow(DecryptionError);
    expect(() => c.decrypt('v2:a:b:c:d', 'access_token')).toThrow(DecryptionError);
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => new TokenCipher(randomBytes(16))).toThrow(/32 bytes/);
  });

  describe('bound to a team (v2)', () => {
    it('round-trips in its own team and fails in another team or column', () => {
      const c = new TokenCipher(key());
      const env = c.encryptForTeam('secret', 'refresh_token', 'team-a');
      expect(env).toMatch(/^v2:/);
      expect(c.decryptForTeam(env, 'refresh_token', 'team-a')).toBe('secret');
      expect(() => c.decryptForTeam(env, 'refresh_token', 'team-b')).toThrow(DecryptionError);
      expect(() => c.decryptForTeam(env, 'access_token', 'team-a')).toThrow(DecryptionError);
      expect(() => c.decrypt(env, 'refresh_token')).toThrow(DecryptionError);
    });

    it('still opens legacy column-only envelopes, which keys:rotate reports as legacy', () => {
      const c = new TokenCipher(key());
      const legacy = c.encrypt('secret', 'access_token');
      expect(c.decryptForTeam(legacy, 'access_token', 'any-team')).toBe('secret');
      expect(c.isLegacy(legacy)).toBe(true);
      expect(c.isLegacy(c.encryptForTeam('secret', 'access_token', 't'))).toBe(false);
    });

    it('names the key id of an envelope and knows which keys it holds', () => {
      const current = key();
      const previous = key();
      const c = new TokenCipher(current, [previous]);
      expect(TokenCipher.keyIdOf(c.encryptForTeam('x', 'access_token', 't'))).toBe(keyIdOf(current));
      expect(c.hasKey(keyIdOf(previous))).toBe(true);
      expect(c.hasKey(keyIdOf(key()))).toBe(false);
    });
  });
});

import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';

/** Thrown at start-up when an environment variable is missing or malformed. */
export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvValidationError';
  }
}

/** Placeholder values copied from docs or .env.example must never reach production. */
const PLACEHOLDER = /^(changeme|change-me|secret|your[_-].*|xxx+|todo|placeholder)$/i;

export function isPlaceholder(value: string | undefined): boolean {
  return value !== undefined && PLACEHOLDER.test(value.trim());
}

/** One line per variable: the first failed constraint (the others usually say the same thing). */
function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const msg = Object.values(e.constraints ?? {})[0];
    if (!msg) return [];
    // class-validator already puts the property name first ("PORT must be ...").
    return [msg.startsWith(e.property) ? msg : `${e.property}: ${msg}`];
  });
}

/**
 * Validates one feature's slice of the environment with class-validator and returns the typed
 * instance. Empty strings count as unset, so `FOO=` in a .env file falls back to the default.
 */
export function validateEnv<T extends object>(
  cls: new () => T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  const instance = plainToInstance(cls, raw, { enableImplicitConversion: true });
  const errors = validateSync(instance, { skipMissingProperties: false, whitelist: false, stopAtFirstError: true });
  if (errors.length > 0) throw new EnvValidationError(describe(errors));
  return instance;
}

/** A comma-separated list of bare origins (`https://app.example.com`), normalized. */
export function parseOrigins(variable: string, value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new EnvValidationError([`${variable} has an entry that is not a URL: ${o}`]);
      }
      if (!['http:', 'https:'].includes(url.protocol) || url.origin !== o.replace(/\/$/, '')) {
        throw new EnvValidationError([`${variable} entries must be bare origins like https://app.example.com (got ${o})`]);
      }
      return url.origin;
    });
}

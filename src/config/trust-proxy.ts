import { isIP } from 'node:net';
import { ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';

/** Express's `trust proxy` value: on/off, a hop count, or the addresses of trusted proxies. */
export type TrustProxySetting = boolean | number | string[];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrSubnet(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

/**
 * `true`/`false`, a number of hops, or a comma-separated list of IPs, CIDR subnets and the named
 * ranges loopback, linklocal, uniquelocal. Returns undefined for anything else.
 */
export function parseTrustProxy(value: string | undefined): TrustProxySetting | undefined {
  const v = (value ?? '').trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim());
  return entries.every(isAddressOrSubnet) ? entries : undefined;
}

@ValidatorConstraint({ name: 'trustProxy' })
export class TrustProxyConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return parseTrustProxy(String(value)) !== undefined;
  }

  defaultMessage(): string {
    return 'TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list of proxy IPs/subnets '
      + '(e.g. 10.0.0.0/8, loopback)';
  }
}

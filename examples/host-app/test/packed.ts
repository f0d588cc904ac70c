import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The example host gets jira-connect as a host does: the packed tarball (`npm pack`, what
 * `npm install <tarball>` installs), unpacked into examples/host-app/node_modules/jira-connect
 * (gitignored). Only the package itself is unpacked: its dependencies and peers resolve from the
 * repository root's node_modules by Node's upward lookup, as a hoisted `npm install` would lay them
 * out, so there is one @nestjs/core. A real install with its dependencies takes about a minute;
 * scripts/package-check.sh does that once in CI.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const HOST_APP = join(ROOT, 'examples/host-app');
export const INSTALLED = join(HOST_APP, 'node_modules/jira-connect');
/** The tarball's integrity (sha512) that INSTALLED was unpacked from: the same tarball is not unpacked twice. */
const MARKER = join(INSTALLED, '.packed-integrity');
const ENTRY = join(ROOT, 'dist/src/integrations/jira/index.js');
/** What the build reads: a change to any of them after the entry was emitted makes dist/ stale. */
const BUILD_INPUTS = ['src', 'migrations', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

const newestMtime = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.spec.ts') ? 0 : stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
};

export interface PackedPackage {
  /** The tarball's `integrity` (npm pack --json). */
  integrity: string;
  /** Whether the build ran first (dist/ missing or older than its sources). */
  built: boolean;
  /** False when INSTALLED already held this tarball. */
  unpacked: boolean;
  files: number;
  bytes: number;
}

/** Builds when dist/ is missing or stale, packs, and unpacks into examples/host-app/node_modules/jira-connect unless it is already there. */
export function installPackedPackage(): PackedPackage {
  let built = false;
  if (!existsSync(ENTRY)) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    built = true;
  } else if (BUILD_INPUTS.some((input) => newestMtime(join(ROOT, input)) > statSync(ENTRY).mtimeMs)) {
    // Over the existing dist/ (no clean first): other test files may be running the standalone server from it.
    const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    built = true;
  }

  const destination = mkdtempSync(join(tmpdir(), 'jira-connect-pack-'));
  try {
    // --ignore-scripts: no prepack (its build is the step above, when needed).
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(out) as { filename: string; integrity: string; entryCount: number; size: number }[];
    const result = { integrity: packed.integrity, built, files: packed.entryCount, bytes: packed.size };
    if (existsSync(MARKER) && readFileSync(MARKER, 'utf8') === packed.integrity) return { ...result, unpacked: false };

    mkdirSync(dirname(INSTALLED), { recursive: true });
    // Unpacked beside it, then swapped in: a concurrent run never sees half a package.
    const staging = mkdtempSync(join(dirname(INSTALLED), '.jira-connect-'));
    chmodSync(staging, 0o755);
    execFileSync('tar', ['-xzf', join(destination, packed.filename), '-C', staging, '--strip-components=1']);
    writeFileSync(join(staging, '.packed-integrity'), packed.integrity);
    rmSync(INSTALLED, { recursive: true, force: true });
    renameSync(staging, INSTALLED);
    return { ...result, unpacked: true };
  } finally {
    rmSync(destination, { recursive: true, force: true });
  }
}

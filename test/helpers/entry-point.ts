import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * How a test starts one of our entry points (src/main.ts, src/cli/main.ts) in a child process.
 * Compiling src/ through the SWC hook costs every child seconds of CPU; the compiled dist/ (which
 * CI builds before the tests) costs nothing. dist/ is used only when it is at least as new as every
 * file under src/ and migrations/, so a local edit without a rebuild still tests the edit.
 * JC_TEST_FROM_SOURCES=1 forces the sources; `fromSources` does it for one call (keep one test so).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REGISTER = join(ROOT, 'scripts/swc-register.mjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let distIsFresh: boolean | undefined;
/** true when dist/ was built after the last change to the sources (checked once per test file). */
export function builtDistIsFresh(): boolean {
  if (distIsFresh === undefined) {
    const dist = join(ROOT, 'dist');
    distIsFresh = process.env.JC_TEST_FROM_SOURCES !== '1' && existsSync(join(dist, 'src/main.js')) &&
      Math.min(newestMtime(join(dist, 'src')), newestMtime(join(dist, 'migrations'))) >=
        Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'migrations')));
  }
  return distIsFresh;
}

/**
 * Node arguments that run `src/<entry>.ts` (e.g. 'main', 'cli/main'): the built `dist/src/<entry>.js`
 * when fresh, else the sources through the SWC hook.
 */
export function entryPointArgs(entry: string, { fromSources = false } = {}): string[] {
  if (!fromSources && builtDistIsFresh()) return [join(ROOT, 'dist/src', `${entry}.js`)];
  return ['--import', REGISTER, join(ROOT, 'src', `${entry}.ts`)];
}

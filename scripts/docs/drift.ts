import { readFileSync } from 'node:fs';

/**
 * Null when `file` holds exactly `expected`, else what differs (the first differing line), so a
 * check can say what to run rather than dump the whole page.
 */
export function driftOf(file: string, expected: string, label = file): string | null {
  let actual: string;
  try {
    actual = readFileSync(file, 'utf8');
  } catch {
    return `${label} is missing`;
  }
  if (actual === expected) return null;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const line = e.findIndex((l, i) => a[i] !== l);
  const at = line === -1 ? e.length : line;
  return `${label} differs from the generated text at line ${at + 1}:\n  committed: ${JSON.stringify(a[at] ?? '<end of file>')}\n  generated: ${JSON.stringify(e[at] ?? '<end of file>')}`;
}

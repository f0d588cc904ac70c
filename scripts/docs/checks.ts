import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_REFERENCE_PATH, renderConfigurationReference } from './config-reference.js';
import { driftOf } from './drift.js';
import { brokenLinks } from './links.js';
import { generateOpenApiDocument, OPENAPI_PATH } from './openapi-document.js';

/** A generated page: where it is committed and how to produce it. */
export interface GeneratedPage { name: 'config' | 'openapi'; path: string; generate: () => Promise<string> }

export const generatedPages: Record<GeneratedPage['name'], GeneratedPage> = {
  config: { name: 'config', path: CONFIG_REFERENCE_PATH, generate: async () => renderConfigurationReference() },
  openapi: { name: 'openapi', path: OPENAPI_PATH, generate: generateOpenApiDocument },
};

/** Problems (empty when none) of the copy of `page` under `root` against `generated` (generated now if not given). */
export async function checkGenerated(page: GeneratedPage, root: string, generated?: string): Promise<string[]> {
  const drift = driftOf(join(root, page.path), generated ?? await page.generate(), page.path);
  return drift ? [`${drift}\n  run \`npm run docs:${page.name}\` and commit the result`] : [];
}

export async function writeGenerated(page: GeneratedPage, root: string): Promise<void> {
  writeFileSync(join(root, page.path), await page.generate());
}

/** Relative links and anchors of README.md and docs/**\/*.md under `root` that do not resolve. */
export function checkLinks(root: string): string[] {
  return brokenLinks(root).map((p) => `broken link ${p}`);
}

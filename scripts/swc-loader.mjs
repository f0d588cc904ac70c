/*
 * Node module hooks that run the TypeScript sources directly (compiled by SWC, with decorator
 * metadata, exactly as Vitest does), without a build step: the CLI, the watch-mode server and
 * the tests' child processes never touch dist/. `node --import ./scripts/swc-register.mjs src/cli/main.ts`.
 * Both hook flavours are exported: synchronous ones for module.registerHooks (Node 22.15+, where
 * module.register is deprecated) and asynchronous ones for module.register (Node 20).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swc from '@swc/core';

const relative = (specifier) => specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');

/** Sources import `./x.js` (NodeNext style); the file on disk is `./x.ts`. */
const tsSibling = (specifier, context) =>
  relative(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') ? `${specifier.slice(0, -3)}.ts` : undefined;

const isTypeScript = (url) => url.startsWith('file:') && url.endsWith('.ts');

function compile(url) {
  const filename = fileURLToPath(url);
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'es6' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
  });
  return { format: 'module', source: code, shortCircuit: true };
}

export function resolveSync(specifier, context, nextResolve) {
  try {
    return nextResolve(specifier, context);
  } catch (err) {
    const sibling = tsSibling(specifier, context);
    if (sibling) return nextResolve(sibling, context);
    throw err;
  }
}

export function loadSync(url, context, nextLoad) {
  return isTypeScript(url) ? compile(url) : nextLoad(url, context);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const sibling = tsSibling(specifier, context);
    if (sibling) return nextResolve(sibling, context);
    throw err;
  }
}

export async function load(url, context, nextLoad) {
  return isTypeScript(url) ? compile(url) : nextLoad(url, context);
}

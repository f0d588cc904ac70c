// `node --import ./scripts/swc-register.mjs file.ts` runs the TypeScript sources (see swc-loader.mjs):
// used by `npm run start:dev`, `npm run cli` and the tests' child processes.
import module from 'node:module';

if (typeof module.registerHooks === 'function') {
  const { resolveSync, loadSync } = await import('./swc-loader.mjs');
  module.registerHooks({ resolve: resolveSync, load: loadSync });
} else {
  module.register('./swc-loader.mjs', import.meta.url);
}

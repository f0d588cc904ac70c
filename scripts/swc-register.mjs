// `node --import ./scripts/swc-register.mjs file.ts` runs the TypeScript sources (see swc-loader.mjs):
// used by `npm run start:dev`, `npm run cli` and the tests' child processes.
import { register } from 'node:module';

register('./swc-loader.mjs', import.meta.url);

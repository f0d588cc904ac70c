// `node --import ./test/helpers/swc-register.mjs file.ts` runs TypeScript sources (see swc-loader.mjs).
import { register } from 'node:module';

register('./swc-loader.mjs', import.meta.url);

// `node --import ./test/helpers/swc-register.mjs file.ts` runs TypeScript sources (see scripts/swc-loader.mjs).
import '../../scripts/swc-register.mjs';

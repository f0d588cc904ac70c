import { InitialSchema1764000000000 } from './1764000000000-InitialSchema.js';
import { OpaqueIds1766000000000 } from './1766000000000-OpaqueIds.js';

/** Listed explicitly (not globbed) so the same list works from tsc output, SWC and the CLI. */
export const migrations = [InitialSchema1764000000000, OpaqueIds1766000000000];

import { InitialSchema1764000000000 } from './1764000000000-InitialSchema.js';
import { RefreshLease1765000000000 } from './1765000000000-RefreshLease.js';

/** Listed explicitly (not globbed) so the same list works from tsc output, SWC and the CLI. */
export const migrations = [InitialSchema1764000000000, RefreshLease1765000000000];

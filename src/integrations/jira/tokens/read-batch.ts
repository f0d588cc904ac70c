import type { ObservedRow } from './refresh-lease.js';

/** Ids per batched read. */
const BATCH = 500;

/**
 * The hot path's reads, batched: every team read requested in the same turn of the event loop
 * (e.g. a storm of callers for many teams) goes out as one `team_id = ANY(…)` statement per 500
 * teams; a lone read (one request) stays the plain single-row SELECT.
 */
export class ReadBatch {
  private pending?: Map<string, { resolve(row: ObservedRow | null): void; reject(err: unknown): void }[]>;

  constructor(
    private readonly readOne: (teamId: string) => Promise<ObservedRow | null>,
    private readonly readMany: (teamIds: string[]) => Promise<ObservedRow[]>,
  ) {}

  read(teamId: string): Promise<ObservedRow | null> {
    if (!this.pending) {
      this.pending = new Map();
      queueMicrotask(() => void this.flush());
    }
    const pending = this.pending;
    return new Promise((resolve, reject) => {
      const list = pending.get(teamId) ?? [];
      list.push({ resolve, reject });
      pending.set(teamId, list);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending!;
    this.pending = undefined;
    const teamIds = [...batch.keys()];
    await Promise.all(Array.from({ length: Math.ceil(teamIds.length / BATCH) }, async (_, i) => {
      const chunk = teamIds.slice(i * BATCH, (i + 1) * BATCH);
      try {
        const rows = chunk.length === 1 ? [await this.readOne(chunk[0])].filter((r) => r !== null) : await this.readMany(chunk);
        const byTeam = new Map(rows.map((r) => [r.teamId, r]));
        for (const teamId of chunk) for (const w of batch.get(teamId)!) w.resolve(byTeam.get(teamId) ?? null);
      } catch (err) {
        for (const teamId of chunk) for (const w of batch.get(teamId)!) w.reject(err);
      }
    }));
  }
}

/** Entries kept before the expired ones are dropped (memory stays bounded by the teams seeing 401s). */
const PRUNE_AT = 10_000;

/**
 * Remembers, per team, the access token a 401-triggered refresh handed out and when, so a later
 * 401 for that same token within `windowMs` is recognised as a scope problem rather than a reason
 * to rotate again (one rotation per token for 401s, across calls). Per process, on the monotonic clock.
 */
export class UnauthorizedRefreshMemo {
  private readonly reissued = new Map<string, { accessToken: string; at: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** True when `accessToken` is what a 401-triggered refresh of `teamId` handed out less than windowMs ago. */
  reissuedRecently(teamId: string, accessToken: string): boolean {
    const seen = this.reissued.get(teamId);
    return seen !== undefined && seen.accessToken === accessToken && this.nowMs() - seen.at < this.windowMs;
  }

  note(teamId: string, accessToken: string): void {
    const now = this.nowMs();
    if (this.reissued.size >= PRUNE_AT) {
      for (const [id, e] of this.reissued) if (now - e.at >= this.windowMs) this.reissued.delete(id);
    }
    this.reissued.set(teamId, { accessToken, at: now });
  }
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; teamId: string; occurredAt: string; data: Record<string, unknown> };
  /** What the receiver answered (0: never answered, the sender gave up on it). */
  status: number;
}

/**
 * The product's backend as NOTIFY_WEBHOOK_URL, on 127.0.0.1: records every request and answers
 * 200, 500 (`failing`) or not at all until released (`hanging`).
 */
export class NotificationReceiver {
  readonly received: ReceivedNotification[] = [];
  mode: 'ok' | 'failing' | 'hanging' = 'ok';
  private server: Server | null = null;
  private readonly held = new Set<() => void>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const record: ReceivedNotification = { headers: req.headers, raw, body: JSON.parse(raw), status: 0 };
        this.received.push(record);
        const answer = (status: number) => {
          record.status = status;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
        };
        if (this.mode === 'ok') answer(200);
        else if (this.mode === 'failing') answer(500);
        else {
          const release = () => {
            this.held.delete(release);
            if (!res.writableEnded && !res.destroyed) answer(200);
          };
          this.held.add(release);
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks/jira-connect`;
  }

  /** Requests this receiver accepted (answered 2xx), by event id. */
  acceptedCount(id: string): number {
    return this.received.filter((r) => r.body.id === id && r.status === 200).length;
  }

  ofTeam(teamId: string): ReceivedNotification[] {
    return this.received.filter((r) => r.body.teamId === teamId);
  }

  /** Resolves once `predicate` holds, polling; fails after `timeoutMs`. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    for (const release of [...this.held]) release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

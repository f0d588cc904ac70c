import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MembershipAnswer = { role: string | null } | 404 | 403 | 500 | 'hang' | 'garbage';

/** The product's membership endpoint for TEAM_ACCESS_POLICY=http, on 127.0.0.1. */
export class MembershipService {
  readonly requests: { teamId: string; userId: string; headers: IncomingHttpHeaders }[] = [];
  readonly answers = new Map<string, MembershipAnswer>();
  private server: Server | null = null;
  private port = 0;

  set(teamId: string, userId: string, answer: MembershipAnswer): void {
    this.answers.set(`${teamId}\n${userId}`, answer);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const match = /^\/internal\/teams\/([^/]+)\/members\/([^/?]+)$/.exec(req.url ?? '');
      if (!match) return void res.writeHead(400).end();
      const teamId = decodeURIComponent(match[1]);
      const userId = decodeURIComponent(match[2]);
      this.requests.push({ teamId, userId, headers: req.headers });
      const answer = this.answers.get(`${teamId}\n${userId}`) ?? 404;
      if (answer === 'hang') return; // never answers: the caller's timeout must fire
      if (answer === 'garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      if (typeof answer === 'number') return void res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get urlTemplate(): string {
    return `http://127.0.0.1:${this.port}/internal/teams/{teamId}/members/{userId}`;
  }

  /** The product goes down: connections are refused until start() again (same port). */
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }

  count(teamId: string, userId: string): number {
    return this.requests.filter((r) => r.teamId === teamId && r.userId === userId).length;
  }
}

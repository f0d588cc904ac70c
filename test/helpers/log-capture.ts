import { Writable } from 'node:stream';

/** Collects what the app logs (pino JSON lines) so tests can assert on it. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  /** Every secret that appears in the logs (an empty array is the passing answer). */
  leaked(secrets: Iterable<string>): string[] {
    const text = this.text;
    return [...secrets].filter((s) => s.length > 0 && text.includes(s));
  }

  /** The first JSON log line matching `predicate`, waiting up to `timeoutMs` for it. */
  async waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 2000): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (predicate(parsed)) return parsed;
        } catch {
          /* not JSON */
        }
      }
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

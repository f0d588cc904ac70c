import { Writable } from 'node:stream';
import type { DestinationStream } from 'pino';

/*
 * nestjs-pino keeps ONE root logger per process, built by the first app that starts: every test
 * app gives it this fan-out (LOG_DESTINATION), so each app's capture sees what the process logs
 * (other apps' lines too, which only makes leak assertions stricter).
 */
const sinks = new Set<DestinationStream>();
export const testLogFanout: DestinationStream = {
  write(line: string) {
    for (const sink of sinks) sink.write(line);
  },
};

/** Subscribes a buffer to the process's logs; returns unsubscribe. */
export function addTestLogSink(stream: DestinationStream): () => void {
  sinks.add(stream);
  return () => void sinks.delete(stream);
}

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

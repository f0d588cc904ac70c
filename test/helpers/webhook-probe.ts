import { Injectable, Module } from '@nestjs/common';
import { Clock } from '../../src/integrations/jira/common/clock.js';
// The public entry, as a host imports them.
import { OnJiraWebhook, type JiraWebhookEvent } from '../../src/integrations/jira/index.js';

/** Clock of the app under test, moved forward by the tests (and the fake's webhook clock with it). */
export class TestClock extends Clock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const keyOf = (e: JiraWebhookEvent): string => String((e.payload.issue as { key?: string } | undefined)?.key ?? '');

/** A product's handler, scriptable: fail an issue key N times, or always (poison). */
@Injectable()
export class WebhookProbe {
  readonly handled: JiraWebhookEvent[] = [];
  readonly attempts = new Map<string, number>();
  readonly failTimes = new Map<string, number>();
  readonly poison = new Set<string>();
  /** Runs inside the handler for a key, before it records the event (e.g. to play another instance). */
  readonly during = new Map<string, (event: JiraWebhookEvent) => Promise<void>>();

  @OnJiraWebhook({ events: ['jira:issue_created', 'jira:issue_updated'], jqlFilter: 'project = ABC' })
  async onIssue(event: JiraWebhookEvent): Promise<void> {
    const key = keyOf(event);
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    await this.during.get(key)?.(event);
    if (this.poison.has(key)) throw new Error(`cannot handle ${key}`);
    const left = this.failTimes.get(key) ?? 0;
    if (left > 0) {
      this.failTimes.set(key, left - 1);
      throw new Error(`transient failure on ${key}`);
    }
    this.handled.push(event);
  }

  handledKeys(): string[] {
    return this.handled.map(keyOf);
  }
}

@Module({ providers: [WebhookProbe] })
export class WebhookProbeModule {}

/** Polls until `check` returns a truthy value (bounded). */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

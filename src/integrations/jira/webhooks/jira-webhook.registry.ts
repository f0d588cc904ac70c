import { Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { JIRA_WEBHOOK_HANDLER } from './on-jira-webhook.decorator.js';
import {
  type JiraWebhookEvent,
  type JiraWebhookSubscription,
  type NormalizedSubscription,
  normalizeSubscription,
} from './webhook-subscription.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraWebhookSettings } from '../config/jira-webhooks.config.js';

/** Module options a host application may provide (the standalone server uses configuration). */
export interface JiraWebhookOptions {
  /** Public delivery URL; overrides JIRA_WEBHOOK_URL. */
  url?: string;
  /** Subscriptions without a handler method: stored and dispatched to no one but the forwarders. */
  subscriptions?: JiraWebhookSubscription[];
}

export const JIRA_WEBHOOK_OPTIONS = Symbol('JIRA_WEBHOOK_OPTIONS');

export interface RegisteredHandler {
  /** `Class.method`: recorded per event once it succeeded, so a retry skips it. */
  name: string;
  key: string;
  run: (event: JiraWebhookEvent) => Promise<unknown>;
}

/**
 * Every subscription of this app: from JIRA_WEBHOOK_EVENTS / JIRA_WEBHOOK_JQL, from the module
 * options and from `@OnJiraWebhook` methods (found with DiscoveryService). Validated at start-up:
 * an event Jira cannot register or JQL outside the webhook subset stops the app with a message.
 */
@Injectable()
export class JiraWebhookRegistry implements OnModuleInit {
  private readonly logger = new Logger(JiraWebhookRegistry.name);
  private readonly byKey = new Map<string, NormalizedSubscription>();
  private readonly handlerList: RegisteredHandler[] = [];
  /** Keys declared by configuration or module options: their events are forwarded as notifications. */
  private readonly forwarded = new Set<string>();

  private readonly config: JiraWebhookSettings;
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    @Optional() @Inject(JIRA_WEBHOOK_OPTIONS) private readonly options?: JiraWebhookOptions,
  ) {
    this.config = settings.webhooks;
  }

  onModuleInit(): void {
    if (this.config.events.length > 0) {
      this.forwarded.add(this.add({ events: this.config.events, jqlFilter: this.config.jql ?? '', fieldIdsFilter: this.config.fieldIds },
        'JIRA_WEBHOOK_EVENTS/JIRA_WEBHOOK_JQL').key);
    }
    (this.options?.subscriptions ?? []).forEach((s, i) => this.forwarded.add(this.add(s, `JiraWebhookOptions.subscriptions[${i}]`).key));
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const fn = instance[method] as ((e: JiraWebhookEvent) => Promise<unknown>) | undefined;
        if (typeof fn !== 'function') continue;
        const sub = this.reflector.get<JiraWebhookSubscription | undefined>(JIRA_WEBHOOK_HANDLER, fn);
        if (!sub) continue;
        const name = `${instance.constructor.name}.${method}`;
        const normalized = this.add(sub, `@OnJiraWebhook on ${name}`);
        this.handlerList.push({ name, key: normalized.key, run: (e) => Promise.resolve(fn.call(instance, e)) });
      }
    }
    if (this.byKey.size > 0 && !this.url) {
      throw new Error('Jira webhook subscriptions are declared but JIRA_WEBHOOK_URL (the public URL Jira posts to) is not set');
    }
    if (this.byKey.size > 0) this.logger.log(`Jira webhooks: ${this.byKey.size} subscription(s), ${this.handlerList.length} handler(s)`);
  }

  get url(): string | undefined {
    return this.options?.url ?? this.config.url;
  }

  get subscriptions(): NormalizedSubscription[] {
    return [...this.byKey.values()];
  }

  get checkIntervalMs(): number {
    return this.config.checkIntervalMs;
  }

  get jobIntervalMs(): number {
    return this.config.jobIntervalMs;
  }

  get enabled(): boolean {
    return this.byKey.size > 0;
  }

  /** True when one of the keys comes from configuration/options (not only from handler methods). */
  forwards(keys: string[]): boolean {
    return keys.some((k) => this.forwarded.has(k));
  }

  handlersFor(keys: Set<string>): RegisteredHandler[] {
    return this.handlerList.filter((h) => keys.has(h.key));
  }

  private add(sub: JiraWebhookSubscription, where: string): NormalizedSubscription {
    const normalized = normalizeSubscription(sub, where);
    this.byKey.set(normalized.key, normalized);
    return normalized;
  }
}

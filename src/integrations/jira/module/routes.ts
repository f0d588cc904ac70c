import type { Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { JiraOAuthController } from '../connect/jira-oauth.controller.js';
import { JiraWebhookController } from '../webhooks/jira-webhook.controller.js';
import { JiraProxyController } from '../proxy/jira-proxy.controller.js';

/** The module's controllers; each declares its path under `api/integrations/jira` (one line each). */
const CONTROLLERS: Type[] = [JiraOAuthController, JiraWebhookController];

const DECLARED_PREFIX = 'api/integrations/jira';

const trimSlashes = (path: string): string => path.replace(/^\/+|\/+$/g, '');

/**
 * The controllers as mounted under `routePrefix`: a controller declared under the default prefix
 * is re-mounted through a subclass carrying the new path (guards, filters and route metadata are
 * inherited), so two apps in one process can use different prefixes. The SPA's Jira proxy is
 * mounted only when asked (`jiraProxy: true`).
 */
export function mountControllers(routePrefix: string, mount: { jiraProxy?: boolean } = {}): Type[] {
  const prefix = trimSlashes(routePrefix);
  const controllers = mount.jiraProxy ? [...CONTROLLERS, JiraProxyController] : CONTROLLERS;
  if (prefix === DECLARED_PREFIX) return controllers;
  return controllers.map((controller) => {
    const declared = trimSlashes(String(Reflect.getMetadata(PATH_METADATA, controller) ?? ''));
    if (!declared.startsWith(DECLARED_PREFIX)) return controller;
    const mounted = { [controller.name]: class extends controller {} }[controller.name];
    Reflect.defineMetadata(PATH_METADATA, `${prefix}${declared.slice(DECLARED_PREFIX.length)}`, mounted);
    return mounted;
  });
}

import { Controller, HttpCode, HttpStatus, Inject, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../auth/public.decorator.js';
import { Clock } from '../common/clock.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JiraWebhookDispatcher } from './jira-webhook.dispatcher.js';
import { JiraWebhookInbox, type ReceiveResult } from './jira-webhook-inbox.service.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { verifiedWebhookBody, webhookVerifier, type WebhookVerifier } from './webhook-request.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';

/**
 * Jira's deliveries (public: Jira authenticates with its JWT, not our bearer). Order matters:
 * the JWT is verified before the body is even read (captureWebhookBody); then the event is stored (deduplicated)
 * and acknowledged; handlers run afterwards, off the request.
 */
@Controller('api/integrations/jira')
export class JiraWebhookController {
  private readonly verify: WebhookVerifier;

  constructor(
    private readonly inbox: JiraWebhookInbox,
    private readonly dispatcher: JiraWebhookDispatcher,
    private readonly metrics: JiraWebhookMetrics,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
  ) {
    const jira = settings.jira;
    const webhooks = settings.webhooks;
    this.verify = webhookVerifier(jira.clientSecret, webhooks.jwtMaxLifetimeSeconds, () => clock.now());
  }

  @Post('webhooks')
  @Public()
  @HttpCode(HttpStatus.OK)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request): Promise<{ data: ReceiveResult }> {
    let body: Buffer;
    try {
      body = await verifiedWebhookBody(req, this.verify);
    } catch (err) {
      if (err instanceof JiraError && err.code === JiraErrorCode.WebhookUnauthorized) this.metrics.delivery('rejected_signature');
      throw err;
    }
    const result = await this.inbox.receive(body, req.headers);
    if (result.status === 'accepted') this.dispatcher.kick();
    return { data: result };
  }
}

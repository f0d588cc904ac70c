import { Controller, HttpCode, HttpStatus, Inject, Post, Req } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../../auth/public.decorator.js';
import { Clock } from '../../../common/clock.js';
import { jiraConfig } from '../../../config/jira.config.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JiraWebhookDispatcher } from './jira-webhook.dispatcher.js';
import { JiraWebhookInbox, type ReceiveResult } from './jira-webhook-inbox.service.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { verifyWebhookJwt, webhookBody } from './webhook-request.js';

/**
 * Jira's deliveries (public: Jira authenticates with its JWT, not our bearer). Order matters:
 * the JWT is verified before the body is even looked at; then the event is stored (deduplicated)
 * and acknowledged; handlers run afterwards, off the request.
 */
@Controller('api/integrations/jira')
export class JiraWebhookController {
  constructor(
    private readonly inbox: JiraWebhookInbox,
    private readonly dispatcher: JiraWebhookDispatcher,
    private readonly metrics: JiraWebhookMetrics,
    private readonly clock: Clock,
    @Inject(jiraConfig.KEY) private readonly jira: ConfigType<typeof jiraConfig>,
  ) {}

  @Post('webhooks')
  @Public()
  @HttpCode(HttpStatus.OK)
  @ApiExcludeEndpoint()
  async receive(@Req() req: Request): Promise<{ data: ReceiveResult }> {
    if (!this.jira.clientSecret) {
      throw new JiraError(JiraErrorCode.NotConfigured, HttpStatus.SERVICE_UNAVAILABLE, 'Jira is not configured',
        'Set JIRA_CLIENT_SECRET: webhook deliveries are verified with it.');
    }
    try {
      await verifyWebhookJwt(req.headers.authorization, this.jira.clientSecret, this.clock.now());
    } catch (err) {
      this.metrics.delivery('rejected_signature');
      throw err;
    }
    const result = await this.inbox.receive(webhookBody(req), req.headers);
    if (result.status === 'accepted') this.dispatcher.kick();
    return { data: result };
  }
}

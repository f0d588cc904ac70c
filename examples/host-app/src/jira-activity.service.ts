import { Injectable } from '@nestjs/common';
import { OnJiraWebhook, type JiraWebhookEvent } from 'jira-connect';

export interface IssueActivity {
  teamId: string;
  issueKey: string;
  webhookEvent: string;
  deliveryId: string;
}

/**
 * The host's handler of Jira's webhooks: the module registers the subscription declared here when
 * a team connects, verifies and stores each delivery, and calls this method once per delivery
 * (again after a throw, with backoff). A real product would update its own records; the example
 * keeps the last 100 in memory, shown at GET /teams/:teamId/jira/activity.
 */
@Injectable()
export class JiraActivity {
  private readonly recent: IssueActivity[] = [];

  @OnJiraWebhook({ events: ['jira:issue_created', 'jira:issue_updated'], jqlFilter: 'project = ABC' })
  onIssue(event: JiraWebhookEvent<{ issue?: { key?: string } }>): void {
    this.recent.push({ teamId: event.teamId, issueKey: event.payload.issue?.key ?? '', webhookEvent: event.webhookEvent, deliveryId: event.deliveryId });
    if (this.recent.length > 100) this.recent.shift();
  }

  ofTeam(teamId: string): IssueActivity[] {
    return this.recent.filter((a) => a.teamId === teamId);
  }
}

import { EventSubscriber, type EntitySubscriberInterface, type InsertEvent, type UpdateEvent } from 'typeorm';
import { openToken, sealToken, type TokenColumn } from '../tokens/token-sealing.js';
import { JiraIntegration } from './jira-integration.entity.js';

const COLUMNS: [keyof Pick<JiraIntegration, 'accessToken' | 'refreshToken'>, TokenColumn][] = [
  ['accessToken', 'access_token'],
  ['refreshToken', 'refresh_token'],
];

type TokenFields = Partial<Pick<JiraIntegration, 'teamId' | 'accessToken' | 'refreshToken'>>;

function transform(entity: TokenFields | undefined, fn: (value: string, column: TokenColumn, teamId: string) => string): void {
  if (!entity?.teamId) return;
  for (const [prop, column] of COLUMNS) {
    const value = entity[prop];
    if (typeof value === 'string') entity[prop] = fn(value, column, entity.teamId);
  }
}

/**
 * Encrypts the token columns of `JiraIntegration` bound to their team (a column transformer never
 * sees the row, so it cannot bind the team id). Entities written through the repository are
 * sealed before the write and opened again after it; loaded entities are opened. Raw SQL writers
 * (the token manager, the OAuth callback) seal with token-sealing.ts themselves.
 */
@EventSubscriber()
export class JiraIntegrationTokensSubscriber implements EntitySubscriberInterface<JiraIntegration> {
  listenTo(): typeof JiraIntegration {
    return JiraIntegration;
  }

  afterLoad(entity: JiraIntegration): void {
    transform(entity, openToken);
  }

  beforeInsert(event: InsertEvent<JiraIntegration>): void {
    transform(event.entity, sealToken);
  }

  afterInsert(event: InsertEvent<JiraIntegration>): void {
    transform(event.entity, openToken);
  }

  beforeUpdate(event: UpdateEvent<JiraIntegration>): void {
    this.refuseUnbound(event.entity as TokenFields | undefined);
    transform(event.entity as TokenFields | undefined, sealToken);
  }

  afterUpdate(event: UpdateEvent<JiraIntegration>): void {
    transform(event.entity as TokenFields | undefined, openToken);
  }

  /** A partial update of a token without the team id could not be sealed: refuse rather than store plaintext. */
  private refuseUnbound(entity: TokenFields | undefined): void {
    if (entity && !entity.teamId && COLUMNS.some(([prop]) => typeof entity[prop] === 'string')) {
      throw new Error('JiraIntegration tokens can only be updated together with teamId (they are sealed to the team)');
    }
  }
}

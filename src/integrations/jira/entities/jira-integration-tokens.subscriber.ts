import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntitySubscriberInterface, InsertEvent, UpdateEvent } from 'typeorm';
import { TokenSealer, type TokenColumn } from '../tokens/token-sealing.js';
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
 * sealed before the write and opened again after it (the connect flows' replaceIntegration writes
 * this way); loaded entities are opened. The refresh lease's raw, fenced writes (the token
 * manager) seal with the TokenSealer themselves; reads that need the ciphertext turn listeners off.
 *
 * Not a decorated, DataSource-listed subscriber: each module instance adds its own, with its own
 * sealer, to the DataSource it uses (TokenColumnsSubscription), so no cipher is process-wide.
 */
export class JiraIntegrationTokensSubscriber implements EntitySubscriberInterface<JiraIntegration> {
  constructor(private readonly sealer: TokenSealer) {}

  private readonly seal = (value: string, column: TokenColumn, teamId: string): string => this.sealer.seal(value, column, teamId);
  private readonly open = (value: string, column: TokenColumn, teamId: string): string => this.sealer.open(value, column, teamId);

  listenTo(): typeof JiraIntegration {
    return JiraIntegration;
  }

  afterLoad(entity: JiraIntegration): void {
    transform(entity, this.open);
  }

  beforeInsert(event: InsertEvent<JiraIntegration>): void {
    transform(event.entity, this.seal);
  }

  afterInsert(event: InsertEvent<JiraIntegration>): void {
    transform(event.entity, this.open);
  }

  beforeUpdate(event: UpdateEvent<JiraIntegration>): void {
    this.refuseUnbound(event.entity as TokenFields | undefined);
    transform(event.entity as TokenFields | undefined, this.seal);
  }

  afterUpdate(event: UpdateEvent<JiraIntegration>): void {
    transform(event.entity as TokenFields | undefined, this.open);
  }

  /** A partial update of a token without the team id could not be sealed: refuse rather than store plaintext. */
  private refuseUnbound(entity: TokenFields | undefined): void {
    if (entity && !entity.teamId && COLUMNS.some(([prop]) => typeof entity[prop] === 'string')) {
      throw new Error('JiraIntegration tokens can only be updated together with teamId (they are sealed to the team)');
    }
  }
}

/**
 * Seals and opens `JiraIntegration`'s token columns with `sealer` on `dataSource`, until the
 * returned function is called (the module does this for its own DataSource; the CLI, the bench
 * and the tests for theirs).
 */
export function sealTokenColumns(dataSource: DataSource, sealer: TokenSealer): () => void {
  const subscriber = new JiraIntegrationTokensSubscriber(sealer);
  dataSource.subscribers.push(subscriber);
  return () => {
    const at = dataSource.subscribers.indexOf(subscriber);
    if (at !== -1) dataSource.subscribers.splice(at, 1);
  };
}

/** This module instance's token subscriber on its DataSource, for the instance's lifetime. */
@Injectable()
export class TokenColumnsSubscription implements OnModuleInit, OnModuleDestroy {
  private remove?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sealer: TokenSealer,
  ) {}

  onModuleInit(): void {
    this.remove = sealTokenColumns(this.dataSource, this.sealer);
  }

  onModuleDestroy(): void {
    this.remove?.();
  }
}

import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { EncryptionService } from '../common/crypto/encryption.service.js';
import type { TokenCipher } from '../common/crypto/token-cipher.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';

/** Key ids named by stored ciphertexts (the second field of every envelope; not secret). */
export async function storedKeyIds(ds: DataSource): Promise<string[]> {
  const rows = (await ds.query(`
    SELECT DISTINCT split_part(v, ':', 2) AS key_id FROM (
      SELECT access_token AS v FROM jira_integrations WHERE access_token IS NOT NULL
      UNION ALL SELECT refresh_token FROM jira_integrations WHERE refresh_token IS NOT NULL
      UNION ALL SELECT client_credential FROM jira_integrations WHERE client_credential IS NOT NULL) AS stored`)) as { key_id: string }[];
  return rows.map((r) => r.key_id).filter(Boolean).sort();
}

/** Stored key ids that neither ENCRYPTION_KEY nor ENCRYPTION_PREVIOUS_KEYS can open. */
export async function unknownKeyIds(ds: DataSource, cipher: TokenCipher): Promise<string[]> {
  return (await storedKeyIds(ds)).filter((id) => !cipher.hasKey(id));
}

export class UnknownEncryptionKeysError extends Error {
  constructor(ids: string[]) {
    super(`Stored Jira credentials are encrypted with key id(s) ${ids.join(', ')}, which are neither ENCRYPTION_KEY nor in `
      + 'ENCRYPTION_PREVIOUS_KEYS. Add the missing key(s) to ENCRYPTION_PREVIOUS_KEYS (then run keys:rotate), or start with the '
      + 'intended ENCRYPTION_KEY.');
    this.name = 'UnknownEncryptionKeysError';
  }
}

/**
 * At start-up, compares the key ids present in stored ciphertexts with the configured keys, so a
 * wrong ENCRYPTION_KEY or a dropped previous key is caught before any team sees a failure:
 * production refuses to start, naming the unknown key ids; other environments warn.
 */
@Injectable()
export class StoredKeyCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(StoredKeyCheck.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EncryptionService,
    @Inject(JIRA_SETTINGS) private readonly settings: Pick<JiraModuleSettings, 'production'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const unknown = await unknownKeyIds(this.dataSource, this.cipher);
    if (unknown.length === 0) return;
    const error = new UnknownEncryptionKeysError(unknown);
    if (this.settings.production) throw error;
    this.logger.warn(`${error.message} Rows under those keys report jira_credentials_unreadable.`);
  }
}

import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { EncryptionService } from '../common/crypto/encryption.service.js';
import type { TokenCipher } from '../common/crypto/token-cipher.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';

/** Key ids named by stored ciphertexts (the second field of every envelope; not secret). */
export async function storedKeyIds(ds: DataSource): Promise<string[]> {
  const ids = new Set<string>();
  for (const column of ['access_token', 'refresh_token', 'client_credential']) {
    // Raw rows: the ciphertexts' key ids, never opened.
    const rows = (await ds.getRepository(JiraIntegration).createQueryBuilder('i').select(`split_part(i.${column}, ':', 2)`, 'key_id').distinct()
      .where(`i.${column} IS NOT NULL`).getRawMany()) as { key_id: string }[];
    for (const r of rows) if (r.key_id) ids.add(r.key_id);
  }
  return [...ids].sort();
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

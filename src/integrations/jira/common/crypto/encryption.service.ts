import { Inject, Injectable } from '@nestjs/common';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../../config/module-settings.js';
import { TokenCipher } from './token-cipher.js';

/**
 * The module instance's cipher, from its `encryption` option (the standalone server's
 * ENCRYPTION_KEY / ENCRYPTION_PREVIOUS_KEYS). Nothing process-wide: each instance seals with its own keys.
 */
@Injectable()
export class EncryptionService extends TokenCipher {
  constructor(@Inject(JIRA_SETTINGS) { encryption }: JiraModuleSettings) {
    super(encryption.currentKey, encryption.previousKeys);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { encryptionConfig } from '../../config/encryption.config.js';
import { TokenCipher } from './token-cipher.js';

/**
 * A cipher built from encryption settings: the standalone server's (ENCRYPTION_KEY /
 * ENCRYPTION_PREVIOUS_KEYS), or, inside JiraIntegrationModule, that instance's own from its
 * `encryption` option. Nothing process-wide: each instance seals with its own keys.
 */
@Injectable()
export class EncryptionService extends TokenCipher {
  constructor(@Inject(encryptionConfig.KEY) settings: ConfigType<typeof encryptionConfig>) {
    super(settings.currentKey, settings.previousKeys);
  }
}

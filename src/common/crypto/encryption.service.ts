import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { encryptionConfig } from '../../config/encryption.config.js';
import { installColumnCipher } from './encrypted-column.transformer.js';
import { TokenCipher } from './token-cipher.js';

/** The application's cipher, built from ENCRYPTION_KEY / ENCRYPTION_PREVIOUS_KEYS. */
@Injectable()
export class EncryptionService extends TokenCipher {
  constructor(@Inject(encryptionConfig.KEY) settings: ConfigType<typeof encryptionConfig>) {
    super(settings.currentKey, settings.previousKeys);
    installColumnCipher(this);
  }
}

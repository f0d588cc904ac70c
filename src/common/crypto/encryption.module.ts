import { Global, Module } from '@nestjs/common';
import { Clock } from '../../integrations/jira/common/clock.js';
import { EncryptionService } from '../../integrations/jira/common/crypto/encryption.service.js';

/** Cross-cutting injectables every feature uses: the cipher and the clock. */
@Global()
@Module({ providers: [EncryptionService, Clock], exports: [EncryptionService, Clock] })
export class EncryptionModule {}

import { Global, Module } from '@nestjs/common';
import { Clock } from '../clock.js';
import { EncryptionService } from './encryption.service.js';

/** Cross-cutting injectables every feature uses: the cipher and the clock. */
@Global()
@Module({ providers: [EncryptionService, Clock], exports: [EncryptionService, Clock] })
export class EncryptionModule {}

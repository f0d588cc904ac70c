import { Global, Module } from '@nestjs/common';
import { Clock } from '../../integrations/jira/common/clock.js';

/** The server's clock (the module has its own; tests override both with `overrideProvider(Clock)`). The cipher is the module's, from its options. */
@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}

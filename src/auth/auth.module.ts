import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { JwtVerifier } from './jwt-verifier.service.js';

@Global()
@Module({
  providers: [JwtVerifier, { provide: APP_GUARD, useClass: BearerAuthGuard }],
  exports: [JwtVerifier],
})
export class AuthModule {}

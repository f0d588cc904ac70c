import { Controller, Get, Inject } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../integrations/jira/auth/public.decorator.js';
import { databaseConfig } from '../config/database.config.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../database/bounded-pool.js';

/** Upper bound of the database probe, so orchestrators with short probe timeouts get an answer. */
const MAX_PING_MS = 3000;

@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly pingTimeoutMs: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    @Inject(databaseConfig.KEY) database: ConfigType<typeof databaseConfig>,
  ) {
    this.pingTimeoutMs = Math.min(MAX_PING_MS, database.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  }

  @Public()
  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness and database reachability (200 healthy, 503 not)' })
  check() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: this.pingTimeoutMs })]);
  }
}

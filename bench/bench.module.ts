import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Controller, Get, Module, Post, Query, UseGuards } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Public } from '../src/integrations/jira/auth/public.decorator.js';
import { AppModule } from '../src/app.module.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { CurrentTeam, type TeamContext } from '../src/integrations/jira/teams/team.decorators.js';
import { TeamGuard } from '../src/integrations/jira/teams/team.guard.js';
import { countStatements } from '../test/helpers/statement-counter.js';

/** One indexed SELECT: the same lookup the status route starts from, without any mapping. */
const FLOOR_SQL = 'SELECT status FROM jira_integrations WHERE team_id = $1';

/*
 * Bench-only routes (bench/main.ts mounts this next to AppModule; the production app never does).
 * The floor routes are what "as fast as this app can answer anything from the database" means;
 * the status and token routes are compared against them. Nothing here returns a secret.
 */
@Controller('bench')
export class BenchController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: JiraTokenManager,
  ) {}

  private counter?: ReturnType<typeof countStatements>;

  /** From start-up on, every statement of this process is counted (the idle section reads them). */
  onModuleInit(): void {
    this.counter ??= countStatements(this.dataSource);
  }

  /** The statements this process sent since the last `?reset=1`, by kind (bench/idle.ts). */
  @Public()
  @Get('statements')
  statements(@Query('reset') reset?: string) {
    const counter = (this.counter ??= countStatements(this.dataSource));
    if (reset) counter.reset();
    return { data: { total: counter.total(), byKind: Object.fromEntries(counter.byKind) } };
  }

  /** The fair floor for status: same bearer + TeamGuard (one membership SELECT), then one indexed SELECT. */
  @Get('floor')
  @UseGuards(TeamGuard)
  async floor(@CurrentTeam() team: TeamContext) {
    const rows: { status: string }[] = await this.dataSource.query(FLOOR_SQL, [team.id]);
    return { data: { status: rows[0]?.status ?? 'not_connected' } };
  }

  /** The bare floor: no authentication, one indexed SELECT (reported for context). */
  @Public()
  @Get('floor-public')
  async floorPublic(@Query('team') teamId: string) {
    const rows: { status: string }[] = await this.dataSource.query(FLOOR_SQL, [teamId]);
    return { data: { status: rows[0]?.status ?? 'not_connected' } };
  }

  /** JiraTokenManager.getAccessToken behind the same guards; answers the token's length only. */
  @Get('token')
  @UseGuards(TeamGuard)
  async token(@CurrentTeam() team: TeamContext) {
    return { data: { length: (await this.tokens.getAccessToken(team.id)).length } };
  }

  /**
   * Refresh storm: `callers` concurrent getAccessToken calls for every connected team, all at
   * once. Answers counts, this process's elapsed time, the SQL statements this process sent
   * meanwhile (by kind), the shared polling reads of waits on the other process's leases, and the
   * CPU time this process used (load-independent: how much work, not how long it waited).
   */
  @Public()
  @Post('storm')
  async storm(@Query('callers') callers: string) {
    const perTeam = Math.max(1, Number(callers) || 1);
    const teams: { team_id: string }[] = await this.dataSource.query(
      `SELECT team_id FROM jira_integrations WHERE status = 'connected'`);
    const statements = (this.counter ??= countStatements(this.dataSource));
    statements.reset();
    const polls = this.tokens.watch.polls;
    const profile = await startProfile();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const results = await Promise.allSettled(
      teams.flatMap(({ team_id }) => Array.from({ length: perTeam }, () => this.tokens.getAccessToken(team_id))));
    const elapsedMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    await profile?.();
    const errors: Record<string, number> = {};
    for (const r of results) {
      if (r.status === 'rejected') {
        const code = String((r.reason as { code?: unknown })?.code ?? (r.reason as Error)?.name ?? 'error');
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
    return {
      data: {
        calls: results.length, ok: results.filter((r) => r.status === 'fulfilled').length, errors, elapsedMs,
        statements: Object.fromEntries(statements.byKind), polls: this.tokens.watch.polls - polls,
        cpuMs: (used.user + used.system) / 1000,
      },
    };
  }
}

/**
 * With BENCH_PROFILE_DIR set, a CPU profile of this process over the storm only (start-up left
 * out), written as storm-<pid>.cpuprofile; answers the function that stops and writes it.
 */
async function startProfile(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `storm-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

@Module({ imports: [AppModule], controllers: [BenchController] })
export class BenchModule {}

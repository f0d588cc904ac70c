import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { DataSource, Repository } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraJob } from './jira-job.entity.js';
import { nextJobState } from './job-outcome.js';

/** A queue (a table of leased rows, claimed with leased-claim.ts) worked off by the runner's loop. */
export interface QueueSpec {
  name: string;
  /**
   * How often to look for work no one here was told about (rows left by a stopped instance, or
   * written by a process without this queue); 0: never. Work this process learns of is woken.
   */
  pollMs: number;
  /** Claims and handles what is due until nothing is left. */
  drain: () => Promise<unknown>;
  /** Shutting down: abort work in progress and hand it back (its rows' leases released). */
  stop?: () => void;
}

/** A periodic job: one row of jira_jobs, run once per period across every instance. */
export interface ScheduleSpec {
  name: string;
  everyMs: number;
  /**
   * How long a run may hold the job before another instance may take it over (default: the
   * period, at least 10 minutes). Only against duplicate work: each job's rows have guards of their own.
   */
  leaseMs?: number;
  run: () => Promise<unknown>;
}

interface Task {
  name: string;
  /** When the loop next runs it (Clock ms); Infinity: only when woken. */
  dueMs: number;
  again: boolean;
  running?: Promise<void>;
  fire: () => Promise<void>;
  stop?: () => void;
}

/** A run's lease outlives a period by this much at least; after it, a crashed instance's job is run again. */
const MIN_LEASE_MS = 10 * 60_000;
/** The first retry of a failed periodic job (then the module's backoff, capped at the period). */
const RETRY_BASE_MS = 60_000;
/** The longest single timer (setTimeout's limit is about 24.8 days); the loop re-arms after it. */
const MAX_TIMER_MS = 6 * 3_600_000;
/** How long shutdown waits for work in progress before leaving it to its lease. */
const SHUTDOWN_WAIT_MS = 10_000;

/** A queue's drain in progress (the runner's or a test's), for its shutdown to wait on. */
export class CurrentRun<T> {
  private current?: Promise<T>;

  track(run: Promise<T>): Promise<T> {
    const tracked = run.finally(() => {
      if (this.current === tracked) this.current = undefined;
    });
    this.current = tracked;
    return tracked;
  }

  async settled(): Promise<void> {
    await this.current?.catch(() => undefined);
  }
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * The module's one background mechanism (issue 18, item 7): every background task is a queue or a
 * periodic job of this runner. One loop per process: a single unref'd timer, armed for the
 * earliest time it knows something is due (a queue's scheduled retry or slow poll, a periodic
 * job's `run_at` as the database last said); `wake()` for work this process just created. Every
 * claim is a lease taken under `FOR UPDATE SKIP LOCKED`, every retry waits the module's backoff
 * (nextJobState), and nothing is registered (so nothing polled) unless its feature is configured.
 * The token-refresh lease (tokens/refresh-lease.ts) stays a per-row lease of its own: it is part of
 * the refresh protocol (fenced, written in the callers' transactions), not a background job.
 */
@Injectable()
export class JobRunner implements OnModuleDestroy {
  private static readonly byDataSource = new WeakMap<DataSource, JobRunner>();

  /**
   * The runner of `dataSource`: one per database connection in a process, whoever asks (the
   * module's jobs through DI, a host's or the standalone server's NotificationWorker directly).
   */
  static for(dataSource: DataSource, clock: Clock): JobRunner {
    let runner = JobRunner.byDataSource.get(dataSource);
    if (!runner || runner.stopped) {
      runner = new JobRunner(dataSource, clock);
      JobRunner.byDataSource.set(dataSource, runner);
    }
    return runner;
  }

  private readonly logger = new Logger(JobRunner.name);
  private readonly tasks = new Map<string, Task>();
  private readonly schedules = new Map<string, ScheduleSpec>();
  private readonly jobs: Repository<JiraJob>;
  /** Schedules whose row is still to be created and read (batched into two statements). */
  private unread = new Set<string>();
  private reading?: Promise<void>;
  /** Periodic jobs whose run is in progress here (handed back if still running at shutdown). */
  private readonly runningSchedules = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  private constructor(dataSource: DataSource, private readonly clock: Clock) {
    this.jobs = dataSource.getRepository(JiraJob);
  }

  /** Names of the queues and periodic jobs this process runs (none when every feature is off). */
  get registered(): string[] {
    return [...this.tasks.keys()];
  }

  /** Whether the loop's timer is armed. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Adds a queue; it is drained at once (leftovers of a previous run), then when woken, due or polled. */
  queue(spec: QueueSpec): void {
    if (this.stopped) return;
    const task: Task = {
      name: spec.name,
      dueMs: this.clock.nowMs(),
      again: false,
      stop: spec.stop,
      fire: async () => {
        task.dueMs = spec.pollMs > 0 ? this.clock.nowMs() + spec.pollMs : Infinity;
        try {
          await spec.drain();
        } catch (err) {
          // The database (or a handler's bookkeeping) failed: look again in a minute even with no
          // poll, so claimed rows are not left until something new wakes the queue.
          task.dueMs = Math.min(task.dueMs, this.clock.nowMs() + RETRY_BASE_MS);
          throw err;
        }
      },
    };
    this.add(task);
  }

  /** Adds a periodic job: first due one period after its row is created (the first instance to schedule it). */
  every(spec: ScheduleSpec): void {
    if (this.stopped || this.tasks.has(spec.name)) return;
    this.schedules.set(spec.name, spec);
    const task: Task = {
      name: spec.name,
      dueMs: Infinity,
      again: false,
      fire: async () => {
        // Until the database says otherwise (or cannot be reached): a minute from now.
        task.dueMs = this.clock.nowMs() + Math.min(RETRY_BASE_MS, spec.everyMs);
        await this.runSchedule(spec, task);
      },
    };
    this.add(task);
    this.unread.add(spec.name);
    this.requestRead();
  }

  /** Reads (creating them first) the rows of schedules registered since the last read; retried in a minute on failure. */
  private requestRead(): void {
    this.reading ??= Promise.resolve().then(() => this.readSchedules()).then(() => {
      this.reading = undefined;
      // A job registered after the read's last look (while it was finishing) is read now.
      if (this.unread.size > 0 && !this.stopped) this.requestRead();
    }, (err: unknown) => {
      this.reading = undefined;
      this.logger.error({ err, msg: 'job runner could not read its schedule; retrying in a minute' });
      setTimeout(() => this.requestRead(), RETRY_BASE_MS).unref();
    });
  }

  /** Runs a queue now (or right after its run in progress). */
  wake(name: string): void {
    this.wakeAt(name, this.clock.nowMs());
  }

  /** Runs a queue at `atMs` (Clock ms) unless it is due sooner: a retry it scheduled. */
  wakeAt(name: string, atMs: number): void {
    const task = this.tasks.get(name);
    if (!task || this.stopped) return;
    if (task.running && atMs <= this.clock.nowMs()) task.again = true;
    else task.dueMs = Math.min(task.dueMs, atMs);
    this.arm();
  }

  /**
   * For tests and the CLI: runs every periodic job that is due by the database's clock (claimed
   * as the loop claims it, so two instances never both run it), and returns the names that ran.
   */
  async runOnce(): Promise<string[]> {
    const ran: string[] = [];
    for (const spec of this.schedules.values()) {
      if (await this.runSchedule(spec)) ran.push(spec.name);
    }
    return ran;
  }

  /** Stops the loop, asks queues to hand back their work, and waits (bounded) for what runs. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const task of this.tasks.values()) task.stop?.();
    const running = [...this.tasks.values()].map((t) => t.running).filter(Boolean);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running), new Promise((r) => (timeout = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timeout);
    // Periodic runs still going are handed back (the database is still open here), so another
    // instance need not wait out their lease (up to an hour); each job's rows have guards of their own.
    const unfinished = [...this.runningSchedules];
    if (unfinished.length > 0) {
      await this.jobs.createQueryBuilder().update(JiraJob).set({ lockedUntil: null }).where('name IN (:...unfinished)', { unfinished }).execute()
        .catch((err: unknown) => this.logger.warn({ err, jobs: unfinished, msg: 'could not hand back periodic jobs at shutdown; their leases will lapse' }));
    }
  }

  private add(task: Task): void {
    // Two workers of one queue on one database (a host's and the module's): the first one serves both.
    if (this.tasks.has(task.name)) return this.logger.warn(`job ${task.name} is registered twice; the first registration serves`);
    this.tasks.set(task.name, task);
    this.arm();
  }

  private setDue(name: string, atMs: number): void {
    const task = this.tasks.get(name);
    if (!task) return;
    task.dueMs = atMs;
    this.arm();
  }

  /** Starts what is due, then sets the one timer for the earliest of the rest. */
  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock.nowMs();
    let next = Infinity;
    for (const task of this.tasks.values()) {
      if (task.running) continue;
      if (task.dueMs <= now) this.start(task);
      else next = Math.min(next, task.dueMs);
    }
    if (next === Infinity) return;
    // A timer may fire a millisecond early: the +1 keeps the task from being found not yet due.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.arm();
    }, Math.min(MAX_TIMER_MS, next - now + 1));
    this.timer.unref();
  }

  private start(task: Task): void {
    task.again = false;
    task.running = task.fire()
      .catch((err: unknown) => this.logger.error({ err, job: task.name, msg: 'background job failed' }))
      .finally(() => {
        task.running = undefined;
        if (task.again) task.dueMs = this.clock.nowMs();
        this.arm();
      });
  }

  /**
   * Creates the rows of new schedules (first due one period on) and learns when each is due. An
   * existing row keeps its time unless this period is shorter (a configuration lowered it): a
   * fleet that restarts often never pushes a job back.
   */
  private async readSchedules(): Promise<void> {
    // Jobs registered while a read is under way are read by the next turn of this loop.
    while (this.unread.size > 0 && !this.stopped) await this.readBatch();
  }

  private async readBatch(): Promise<void> {
    const names = [...this.unread];
    await this.jobs.createQueryBuilder().insert().into(JiraJob)
      .values(names.map((name) => ({ name, runAt: () => `now() + make_interval(secs => ${seconds(this.schedules.get(name)!.everyMs)})` })))
      .orUpdate(['run_at'], ['name'], { overwriteCondition: { where: 'jira_jobs.run_at > EXCLUDED.run_at' } })
      .execute();
    const waits = await this.waits(names);
    // A row deleted between the two statements stays unread: the next turn creates it again.
    for (const name of names) if (waits.has(name)) this.unread.delete(name);
    for (const [name, waitMs] of waits) this.setDue(name, this.clock.nowMs() + waitMs);
  }

  /**
   * How long (ms, on the database's clock) until each job may next be claimed by this instance: the
   * earlier of its run_at and its last finish plus this instance's period (a fleet whose instances
   * are configured with different periods runs a job within the shortest: the last runner's period
   * does not push it back); while another instance holds it, its lease's end or this period, whichever is sooner.
   */
  private async waits(names: string[]): Promise<Map<string, number>> {
    const ms = (column: string) => `EXTRACT(EPOCH FROM (j.${column} - now())) * 1000`;
    const rows = await this.jobs.createQueryBuilder('j')
      .select('j.name', 'name')
      .addSelect(ms('run_at'), 'run_ms').addSelect(ms('locked_until'), 'lock_ms').addSelect(ms('last_finished_at'), 'finished_ms')
      .where('j.name IN (:...names)', { names })
      .getRawMany<{ name: string; run_ms: string | number; lock_ms: string | number | null; finished_ms: string | number | null }>();
    return new Map(rows.map((r) => {
      const everyMs = this.schedules.get(r.name)?.everyMs ?? Infinity;
      const due = Math.min(Number(r.run_ms), r.finished_ms === null ? Infinity : Number(r.finished_ms) + everyMs);
      // Held by another instance: look again when its lease ends, or after this instance's own
      // period if that is sooner (the holder usually finishes long before its lease ends).
      const held = r.lock_ms === null ? 0 : Math.min(Number(r.lock_ms), everyMs);
      return [r.name, Math.max(0, due, held)];
    }));
  }

  /**
   * Claims the job's row if it is due and free (or its lease lapsed), runs it, and records the
   * outcome; when another instance has it or ran it, learns when to look again. True when it ran.
   */
  private async runSchedule(spec: ScheduleSpec, task?: Task): Promise<boolean> {
    const leaseS = seconds(spec.leaseMs ?? Math.max(MIN_LEASE_MS, spec.everyMs));
    // The claim's shape is leased-claim.ts's: a subselect under FOR UPDATE SKIP LOCKED, a lease, an attempt counted.
    // Due by run_at, or by this instance's own period since the last finish (see waits()).
    const due = this.jobs.createQueryBuilder('j').select('j.name')
      .where('j.name = :name')
      .andWhere(`(j.run_at <= now() OR j.last_finished_at <= now() - make_interval(secs => ${seconds(spec.everyMs)}))`)
      .andWhere('(j.locked_until IS NULL OR j.locked_until <= now())')
      .setLock('pessimistic_write').setOnLocked('skip_locked');
    const claimed = await this.jobs.createQueryBuilder().update(JiraJob)
      .set({ lockedUntil: () => `now() + make_interval(secs => ${leaseS})`, attempts: () => 'attempts + 1' })
      .where(`name IN (${due.getQuery()})`, { name: spec.name })
      .returning(['attempts'])
      .execute();
    const [row] = (claimed.raw ?? []) as { attempts: number }[];
    if (!row) {
      if (task) {
        const wait = (await this.waits([spec.name])).get(spec.name);
        if (wait !== undefined) task.dueMs = this.clock.nowMs() + wait;
        else {
          // Its row is gone (deleted by hand): create it again.
          this.unread.add(spec.name);
          this.requestRead();
        }
      }
      return false;
    }
    let error: string | null = null;
    this.runningSchedules.add(spec.name);
    try {
      await spec.run();
    } catch (err) {
      error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      this.logger.error({ job: spec.name, attempt: row.attempts, error, msg: 'periodic job failed; retried with backoff' });
    }
    this.runningSchedules.delete(spec.name);
    const state = nextJobState(error === null ? { kind: 'succeeded' } : { kind: 'failed', error }, row.attempts,
      { baseMs: Math.min(RETRY_BASE_MS, spec.everyMs), maxMs: spec.everyMs }, 0);
    // Times on the database's clock, as the claim's: the delay from now.
    const waitMs = state.kind === 'retry' ? state.atMs : spec.everyMs;
    await this.jobs.createQueryBuilder().update(JiraJob)
      .set({
        runAt: () => `now() + make_interval(secs => ${seconds(waitMs)})`,
        lockedUntil: null,
        attempts: state.kind === 'retry' ? row.attempts : 0,
        lastError: error,
        // Every run's end, failed or not: a failure's backoff (never longer than the period) then decides.
        lastFinishedAt: () => 'now()',
      })
      .where('name = :name', { name: spec.name })
      .execute();
    if (task) task.dueMs = this.clock.nowMs() + seconds(waitMs) * 1000;
    return true;
  }
}

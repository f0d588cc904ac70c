import { afterAll, test as base } from 'vitest';
import { FakeAtlassian, type FakeAtlassianOptions } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { seedIntegration, type SeededIntegration, type SeedOptions } from './jira-seed.js';
import { createTestApp, type TestApp, type TestAppOptions } from './test-app.js';

/*
 * One fake Atlassian per test file, and the apps that talk to it, as Vitest file-scoped fixtures
 * instead of each describe's beforeAll/afterAll pair. Fixtures start on first use (a test or a
 * `test.beforeAll` that destructures them) and live until the file ends.
 *
 *   const { test, useApp, useFake } = fileFixtures();    // or fileFixtures({ fake: { reuseWindowMs: 4_000 } })
 *   describe('…', () => {
 *     const fake = useFake();                             // the file's fake (or destructure { fake } in a test)
 *     const t = useApp({ env: { ADMIN_API_KEYS: KEY } }); // fake.env() is added; booted before, closed after this describe
 *     test('…', async () => { … t.http … fake.requestLog … });
 *   });
 *
 * The fake is shared by every describe of the file: count with marks (`fake.requestLog.length`
 * before, `slice(mark)` after), never from zero.
 */

export interface FileFixtures {
  /** Started on first use, stopped when the file ends. */
  fake: FakeAtlassian;
  /** The real AppModule on `fake.env()` (plus the file's `app` options), booted on first use. */
  app: TestApp;
  /** Boots one more app on `fake.env()` plus `options.env`; closed when the file ends if not before. */
  bootApp: (options?: TestAppOptions) => Promise<TestApp>;
  /** A connected integration for a new team, on `app`'s database with a grant minted at `fake`. */
  seed: (options?: SeedOptions) => Promise<SeededIntegration>;
}

export interface FileFixtureOptions {
  /** Options of the file's one fake (leeway, latency, redirect URI). */
  fake?: FakeAtlassianOptions;
  /** Options of the `app` fixture; `env` goes on top of `fake.env()`. */
  app?: TestAppOptions | ((fake: FakeAtlassian) => TestAppOptions);
}

/*
 * Apps are closed by an afterAll of this module rather than only by the fixtures' own cleanup:
 * Vitest tears file fixtures down after the file's afterAll hooks, and test/setup.ts's afterAll
 * drops the file's database (WITH FORCE). afterAll hooks run in reverse order of registration
 * (sequence.hooks 'stack', Vitest's default), so this one, registered when the test file imports
 * this module, runs before that drop (checked: apps closed, then the database dropped).
 */
const open = new Set<TestApp>();
const closeApp = async (t: TestApp): Promise<void> => {
  if (!open.delete(t)) return;
  await t.close();
};
afterAll(async () => {
  for (const t of [...open].reverse()) await closeApp(t);
});

const resolve = (options: FileFixtureOptions['app'], fake: FakeAtlassian): TestAppOptions =>
  (typeof options === 'function' ? options(fake) : options) ?? {};

export function fileFixtures(options: FileFixtureOptions = {}) {
  const test = base.extend<{ $file: FileFixtures }>({
    fake: [
      // Vitest reads a fixture's dependencies from its first parameter's destructuring: none here.
      // eslint-disable-next-line no-empty-pattern
      async ({}, use) => {
        const fake = await new FakeAtlassian(options.fake).start();
        try {
          await use(fake);
        } finally {
          await fake.stop();
        }
      },
      { scope: 'file' },
    ],
    bootApp: [
      async ({ fake }, use) => {
        const started: TestApp[] = [];
        await use(async (appOptions: TestAppOptions = {}) => {
          const t = await createTestApp({ ...appOptions, env: { ...fake.env(), ...appOptions.env } });
          open.add(t);
          started.push(t);
          return { ...t, close: () => closeApp(t) };
        });
        for (const t of started.reverse()) await closeApp(t);
      },
      { scope: 'file' },
    ],
    app: [async ({ fake, bootApp }, use) => use(await bootApp(resolve(options.app, fake))), { scope: 'file' }],
    seed: [async ({ fake, app }, use) => use((seedOptions?: SeedOptions) => seedIntegration(app.dataSource, fake, seedOptions)), { scope: 'file' }],
  });

  /**
   * An app for the enclosing describe only (its own env, e.g. other rules): booted before the
   * describe's first test, closed after its last, so its background jobs do not outlive it.
   * Returns a handle that forwards to the booted app.
   */
  function useApp(appOptions: FileFixtureOptions['app'] = {}): TestApp {
    let current: TestApp | undefined;
    test.beforeAll(async ({ fake, bootApp }) => {
      current = await bootApp(resolve(appOptions, fake));
    });
    test.afterAll(async () => {
      if (current) await current.close();
    });
    return handle(() => current, 'useApp()');
  }

  /** The file's fake, for describe-level code and helpers (a test can also destructure `{ fake }`). */
  function useFake(): FakeAtlassian {
    let current: FakeAtlassian | undefined;
    test.beforeAll(({ fake }) => {
      current = fake;
    });
    return handle(() => current, 'useFake()');
  }

  return { test, it: test, useApp, useFake };
}

/** Forwards reads, writes and method calls to what a suite hook set up; loud when used before. */
function handle<T extends object>(current: () => T | undefined, what: string): T {
  const target = (key: PropertyKey): T => {
    const value = current();
    if (!value) throw new Error(`${what}: used outside its describe's tests (${String(key)})`);
    return value;
  };
  return new Proxy({} as T, {
    get(_, key) {
      const obj = target(key);
      const value = Reflect.get(obj, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
    set(_, key, value) {
      return Reflect.set(target(key), key, value);
    },
  });
}

// Generated documentation and its drift checks (README.md, "Documentation": npm run docs:check).
//   node --import ./scripts/swc-register.mjs scripts/docs.ts <config|openapi> [--check]
//   node --import ./scripts/swc-register.mjs scripts/docs.ts links
//   node --import ./scripts/swc-register.mjs scripts/docs.ts check     (all three, one process)
// Without --check a generator writes its page; with it, it exits 1 when the committed page differs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A developer's .env or shell must not change a committed page (ConfigModule reads .env unless NODE_ENV=test).
for (const key of Object.keys(process.env)) if (!['PATH', 'HOME', 'TMPDIR'].includes(key)) delete process.env[key];
Object.assign(process.env, { NODE_ENV: 'test', DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });

const { checkGenerated, checkLinks, generatedPages, writeGenerated } = await import('./docs/checks.js');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function report(what: string, problems: string[]): boolean {
  problems.forEach((p) => console.error(`docs: ${p}`));
  if (problems.length === 0) console.log(`docs: ${what}`);
  return problems.length === 0;
}

async function generated(name: 'config' | 'openapi', check: boolean): Promise<boolean> {
  const page = generatedPages[name];
  if (!check) {
    await writeGenerated(page, root);
    return report(`wrote ${page.path}`, []);
  }
  return report(`${page.path} is up to date`, await checkGenerated(page, root));
}

const links = () => report('every relative link and anchor in README.md and docs/ resolves', checkLinks(root));

const [command, flag] = process.argv.slice(2);
let ok: boolean;
if (command === 'config' || command === 'openapi') ok = await generated(command, flag === '--check');
else if (command === 'links') ok = links();
else if (command === 'check') ok = [links(), await generated('config', true), await generated('openapi', true)].every(Boolean);
else ok = report('', ['usage: scripts/docs.ts <config|openapi> [--check] | links | check']);
process.exit(ok ? 0 : 1);

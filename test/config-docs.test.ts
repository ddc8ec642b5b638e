import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../src/config.ts';
import { GUIDE_DAEMON_VARIABLES, HOST_PORT_ALIASES, REFUSED_VARIABLES } from '../src/config-aliases.ts';
import {
  ALIASES_END,
  ALIASES_START,
  DOC_END,
  DOC_START,
  renderAliasTable,
  renderEnvExample,
  renderVariableTable,
} from '../src/config-docs.ts';

const root = new URL('..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('configuration documents', () => {
  it('docs/configuration.md lists exactly the variables of src/config.ts (run `npm run docs:config`)', () => {
    const doc = read('docs/configuration.md');
    const table = doc.slice(doc.indexOf(DOC_START), doc.indexOf(DOC_END) + DOC_END.length);
    expect(table).toBe(renderVariableTable());
    for (const v of VARIABLES) expect(table).toContain(`| \`${v.name}\` |`);
  });

  it('docs/configuration.md maps every daemon variable of the original guide (run `npm run docs:config`)', () => {
    const doc = read('docs/configuration.md');
    const table = doc.slice(doc.indexOf(ALIASES_START), doc.indexOf(ALIASES_END) + ALIASES_END.length);
    expect(table).toBe(renderAliasTable());
    for (const name of GUIDE_DAEMON_VARIABLES) expect(table, name).toContain(`\`${name}\``);
  });

  it('every daemon variable of the original guide is read, joined into an address, or refused with a reason', () => {
    const names = new Set<string>(VARIABLES.map((v) => v.name));
    const aliases = new Set(HOST_PORT_ALIASES.flatMap((a) => [a.host, a.port]));
    for (const name of GUIDE_DAEMON_VARIABLES) {
      expect(names.has(name) || aliases.has(name) || REFUSED_VARIABLES.has(name), name).toBe(true);
    }
  });

  it('.env.example documents every variable (run `npm run docs:config`)', () => {
    expect(read('.env.example')).toBe(renderEnvExample());
  });

  it('every variable of the operator guide exists', () => {
    const names = new Set<string>(VARIABLES.map((v) => v.name));
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'SECRET_KEY',
      'ADMIN_API_KEY',
      'ENABLE_METRICS',
      'METRICS_PORT',
      'NOSTR_RELAYS',
      'NOSTR_PRIVATE_KEY',
      'MONITORING_AUTO_START',
      'PERFORMANCE_OPTIMIZATION',
      'LIGHTNING_AUTO_START',
      'VTXO_AUTO_START',
      'NOSTR_AUTO_START',
    ]) {
      expect(names, name).toContain(name);
    }
    for (const prefix of ['ARKD_', 'TAPD_', 'LND_']) {
      expect(
        [...names].some((n) => n.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
  });

  it('only src/config.ts and the CLI entry read process.env', () => {
    const offenders = sourceFiles(join(root, 'src'))
      .filter((file) => !file.endsWith('src/config.ts') && !file.endsWith('src/main.ts'))
      .filter((file) => /process\.env\b/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

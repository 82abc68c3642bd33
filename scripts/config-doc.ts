// Why: print the configuration table for the README from the one schema (`npm run config:doc`), or
// rewrite it in place (`npm run config:doc -- --write`).
import { CONFIG_VARS, type VarSpec } from '../src/shared/config-schema.ts';

const typeText = (v: VarSpec): string => {
  const t = v.type;
  switch (t.kind) {
    case 'int':
      return `integer ${t.min}–${t.max}`;
    case 'enum':
      return t.values.join(' \\| ');
    case 'url':
      return `${t.protocols.join('/')} URL`;
    case 'trustProxy':
      return 'true \\| false \\| hops \\| addresses/CIDRs';
    default:
      return t.kind;
  }
};

const lines = ['| variable | type | default | meaning |', '|---|---|---|---|'];
for (const v of CONFIG_VARS as readonly VarSpec[]) {
  const name = v.secret ? `\`${v.env}\` (or \`${v.env}_FILE\`)` : `\`${v.env}\``;
  lines.push(`| ${name} | ${typeText(v)} | ${v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``} | ${v.doc.replaceAll('|', '\\|')} |`);
}
const table = `${lines.join('\n')}\n`;
if (process.argv.includes('--write')) {
  // Replace the table between the README's markers.
  const { readFileSync, writeFileSync } = await import('node:fs');
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('<!-- config:start');
  const end = readme.indexOf('<!-- config:end -->');
  if (start < 0 || end < 0) throw new Error('README.md has no config:start / config:end markers');
  const afterStart = readme.indexOf('\n', start) + 1;
  writeFileSync('README.md', readme.slice(0, afterStart) + table + readme.slice(end));
  process.stdout.write('README.md configuration table updated\n');
} else process.stdout.write(table);

// Why: print the configuration table for the README from the one schema (`npm run config:doc`).
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
    default:
      return t.kind;
  }
};

const lines = ['| variable | type | default | meaning |', '|---|---|---|---|'];
for (const v of CONFIG_VARS as readonly VarSpec[]) {
  const name = v.secret ? `\`${v.env}\` (or \`${v.env}_FILE\`)` : `\`${v.env}\``;
  lines.push(`| ${name} | ${typeText(v)} | ${v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``} | ${v.doc.replaceAll('|', '\\|')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);

// Why: operators create HOTPATH_AUTH_PASSWORDS_FILE entries without ever writing a password to disk.
// `npm run hash-password -- alice` reads the password from stdin and prints a file with that one entry
// (the file is a JSON list); `--file F` adds the entry to F, or replaces the user's entry there, so a
// file is built one user at a time. `--admin` and `--group G` (repeatable) set the entry's rights.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hashPassword, PasswordStore, type PasswordRecord } from '../src/shared/passwords.ts';

const USAGE = `usage: npm run hash-password -- USER [--file FILE] [--admin] [--group GROUP ...]   (password on stdin)

Prints a HOTPATH_AUTH_PASSWORDS_FILE with one entry for USER, or with --file adds the entry to FILE
(replacing USER's entry if there is one; the file is created if missing) and prints nothing.
  --file FILE     the passwords file to update
  --admin         the user is an admin (cache invalidation, any GPU job, the GPU audit)
  --group GROUP   a group the user is in, for GPU tenants' "groups" (repeatable)
`;

function fail(message: string): never {
  process.stderr.write(`hash-password: ${message}\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({ allowPositionals: true, options: { file: { type: 'string' }, admin: { type: 'boolean' }, group: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
}
try {
  parsed = parse();
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [user, ...extra] = parsed.positionals;
if (!user || extra.length > 0) fail(`give exactly one USER\n${USAGE}`);

function existing(file: string): PasswordRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    fail(`cannot read ${file} (${(err as Error).message})`);
  }
  try {
    PasswordStore.fromFile(file); // the same check hotpath makes at start
  } catch (err) {
    fail(`${file} is not a passwords file hotpath would accept: ${(err as Error).message}`);
  }
  return JSON.parse(text) as PasswordRecord[];
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const password = input.replace(/\r?\n$/, '');
  if (password.length === 0) fail('empty password on stdin');
  const record: PasswordRecord = { user, password: hashPassword(password) };
  if (parsed.values.admin) record.admin = true;
  if (parsed.values.group !== undefined) record.groups = parsed.values.group;
  const file = parsed.values.file;
  if (file === undefined) {
    process.stdout.write(`${JSON.stringify([record], null, 2)}\n`);
    return;
  }
  const records = existing(file).filter((r) => r.user !== user);
  records.push(record);
  // Write beside it and rename: a reader never sees half a file.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(records, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  process.stderr.write(`hash-password: ${file} now has ${records.length} ${records.length === 1 ? 'entry' : 'entries'} (${user} ${records.length > 1 ? 'added or replaced' : 'added'})\n`);
});

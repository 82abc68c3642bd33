// Why: `npm run hash-password` is how an operator makes HOTPATH_AUTH_PASSWORDS_FILE: what it prints, and
// the file it builds one user at a time, must be a file hotpath accepts, with passwords that verify.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PasswordStore } from '../../src/shared/passwords.ts';

const run = (args: string[], password: string) =>
  spawnSync(process.execPath, ['scripts/hash-password.ts', ...args], { input: `${password}\n`, encoding: 'utf8' });

describe('npm run hash-password', () => {
  it('prints a passwords file (a list) hotpath accepts, whose password verifies', async () => {
    const r = run(['alice'], 's3cret');
    expect(r.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'hp-hash-'));
    const file = join(dir, 'printed.json');
    writeFileSync(file, r.stdout);
    const store = PasswordStore.fromFile(file);
    expect(await store.verify('alice', 's3cret')).toMatchObject({ user: 'alice' });
    expect(await store.verify('alice', 'wrong')).toBeUndefined();
  });

  it('--file builds the file one user at a time, replacing a user\'s entry, with --admin and --group', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hp-hash-')), 'passwords.json');
    expect(run(['alice', '--file', file], 'a1').status).toBe(0);
    expect(run(['ops', '--file', file, '--admin', '--group', 'sre', '--group', 'oncall'], 'o1').status).toBe(0);
    expect(run(['alice', '--file', file], 'a2').status).toBe(0); // a new password for alice
    const records = JSON.parse(readFileSync(file, 'utf8'));
    expect(records.map((r: { user: string }) => r.user)).toEqual(['ops', 'alice']);
    expect(records[0]).toMatchObject({ admin: true, groups: ['sre', 'oncall'] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const store = PasswordStore.fromFile(file);
    expect(await store.verify('alice', 'a2')).toBeDefined();
    expect(await store.verify('alice', 'a1')).toBeUndefined();
  });

  it('refuses no user, two users, an empty password, an unknown option and a file hotpath would not accept', () => {
    expect(run([], 'x').status).toBe(2);
    expect(run(['a', 'b'], 'x').status).toBe(2);
    expect(run(['a'], '').stderr).toMatch(/empty password/);
    expect(run(['a', '--nope'], 'x').status).toBe(2);
    const bad = join(mkdtempSync(join(tmpdir(), 'hp-hash-')), 'bad.json');
    writeFileSync(bad, '{"user":"a"}');
    const r = run(['a', '--file', bad], 'x');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a passwords file hotpath would accept: HOTPATH_AUTH_PASSWORDS_FILE: expected a JSON list/);
    expect(readFileSync(bad, 'utf8')).toBe('{"user":"a"}'); // left as it was
  });
});

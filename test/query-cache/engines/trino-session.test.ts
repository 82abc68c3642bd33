// Why: the embedded engine answers Trino's session statements itself (trino-session.ts); these tables pin
// what Trino 476 answers (update type, X-Trino-* headers, error name and words: read from a real Trino
// and compared again in the real-Trino suite's differential corpus), and EXECUTE's parameter substitution.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../src/query-cache/engines/engine.ts';
import { durationMs, javaUrlEncode, likeMatch, sessionStatement, sessionTimeLimitMs } from '../../../src/query-cache/engines/trino-session.ts';

const run = (sql: string, extra: { session?: Record<string, string>; prepared?: Record<string, string> } = {}) =>
  sessionStatement({ sql, session: extra.session ?? {}, preparedStatements: extra.prepared });

function failure(sql: string, extra: Parameters<typeof run>[1] = {}): { name: string; message: string } {
  try {
    run(sql, extra);
  } catch (err) {
    if (err instanceof EngineError) return { name: err.errorName, message: err.message };
    throw err;
  }
  throw new Error(`${sql}: no error`);
}

describe('session statements answered as Trino answers them', () => {
  it.each([
    ["SET SESSION query_max_run_time = '1h'", 'SET SESSION', { 'x-trino-set-session': ['query_max_run_time=1h'] }],
    ['set session query_priority = -3;', 'SET SESSION', { 'x-trino-set-session': ['query_priority=-3'] }],
    ['SET SESSION spill_enabled = TRUE', 'SET SESSION', { 'x-trino-set-session': ['spill_enabled=true'] }],
    ["SET SESSION join_distribution_type = 'BROADCAST'", 'SET SESSION', { 'x-trino-set-session': ['join_distribution_type=BROADCAST'] }],
    ['RESET SESSION query_max_run_time', 'RESET SESSION', { 'x-trino-clear-session': ['query_max_run_time'] }],
    ['USE demo.ops', 'USE', { 'x-trino-set-catalog': ['demo'], 'x-trino-set-schema': ['ops'] }],
    ['USE "Ops"', 'USE', { 'x-trino-set-schema': ['ops'] }],
    ['PREPARE q1 FROM SELECT a, b FROM t WHERE x = ? ;', 'PREPARE', { 'x-trino-added-prepare': ['q1=SELECT+a%2C+b+FROM+t+WHERE+x+%3D+%3F'] }],
    ['DEALLOCATE PREPARE Q1', 'DEALLOCATE', { 'x-trino-deallocated-prepare': ['q1'] }],
    ["SET TIME ZONE 'America/New_York'", 'SET TIME ZONE', { 'x-trino-set-session': ['time_zone_id=America%2FNew_York'] }],
  ])('%s', (sql, update, headers) => {
    const a = run(sql, { prepared: { q1: 'SELECT 1' } });
    expect(a).toMatchObject({ kind: 'answer', columns: [], rows: [], update: { type: update }, sessionChanges: headers });
  });

  it.each([
    ['SET SESSION nope = 1', 'INVALID_SESSION_PROPERTY', "line 1:20: Session property 'nope' does not exist"],
    ['SET SESSION demo.foo = 1', 'INVALID_SESSION_PROPERTY', "line 1:24: Session property 'demo.foo' does not exist"],
    ['SET SESSION query_max_run_time = 1', 'INVALID_SESSION_PROPERTY', "Unable to set session property 'query_max_run_time' to '1': Cannot cast type integer to varchar"],
    ["SET SESSION query_priority = '5'", 'INVALID_SESSION_PROPERTY', "Unable to set session property 'query_priority' to ''5'': Cannot cast type varchar(1) to integer"],
    ['SET SESSION optimize_metadata_queries = 1', 'INVALID_SESSION_PROPERTY', "Unable to set session property 'optimize_metadata_queries' to '1': Cannot cast type integer to boolean"],
    ["SET SESSION query_max_run_time = '1x'", 'INVALID_SESSION_PROPERTY', 'line 1:34: Unknown time unit: x'],
    ["SET SESSION query_max_run_time = 'abc'", 'INVALID_SESSION_PROPERTY', 'line 1:34: duration is not a valid data duration string: abc'],
    ["SET SESSION join_max_broadcast_table_size = '1x'", 'INVALID_SESSION_PROPERTY', 'line 1:45: Unknown unit: x'],
    ['SET SESSION query_priority = 1 + 1', 'NOT_SUPPORTED', 'SET SESSION with a value other than a literal is not supported by the embedded engine'],
    ['RESET SESSION nope', 'INVALID_SESSION_PROPERTY', "line 1:1: Session property 'nope' does not exist"],
    ['DEALLOCATE PREPARE q9', 'NOT_FOUND', 'Prepared statement not found: q9'],
    ['EXECUTE q9 USING 1', 'NOT_FOUND', 'Prepared statement not found: q9'],
    ["EXECUTE IMMEDIATE 'SELECT ?'", 'INVALID_PARAMETER_USAGE', 'line 1:20: Incorrect number of parameters: expected 1 but found 0'],
    ["EXECUTE IMMEDIATE 'SELECT ?' USING 3, 4", 'INVALID_PARAMETER_USAGE', 'line 1:20: Incorrect number of parameters: expected 1 but found 2'],
    ["SET TIME ZONE 'Nope/Zone'", 'NOT_SUPPORTED', 'Time zone not supported: Nope/Zone'],
    ['START TRANSACTION', 'NOT_SUPPORTED', 'Transactions are not supported by the embedded engine (it runs read statements only)'],
    ['SET ROLE admin', 'NOT_SUPPORTED', 'SET ROLE is not supported by the embedded engine'],
    ['USE a.b.c', 'SYNTAX_ERROR', 'line 1:5: expected USE [catalog.]schema'],
  ])('%s fails as %s', (sql, name, message) => {
    expect(failure(sql)).toEqual({ name, message });
  });

  it('EXECUTE becomes its statement with each ? replaced by its USING expression, parenthesized', () => {
    const prepared = { q1: "SELECT a FROM t WHERE x = ? AND y IN (?, '?')" };
    expect(run("EXECUTE q1 USING 1 + 2, concat('a', ',')", { prepared })).toEqual({ kind: 'run', sql: "SELECT a FROM t WHERE x = (1 + 2) AND y IN ((concat('a', ',')), '?')" });
    expect(run("EXECUTE IMMEDIATE 'SELECT name FROM c WHERE id = ? AND d = ?' USING 7, DATE '2024-01-02'")).toEqual({ kind: 'run', sql: "SELECT name FROM c WHERE id = (7) AND d = (DATE '2024-01-02')" });
    // The name matches as Trino matches it: exactly, then case-insensitively.
    expect(run('EXECUTE Q1 USING 1, 2', { prepared })).toMatchObject({ kind: 'run' });
  });

  it('SHOW SESSION lists Trino 476\'s properties with the client\'s values, widths typed as Trino types them', () => {
    const a = run("SHOW SESSION LIKE 'query_max_r%'", { session: { query_max_run_time: '2h' } });
    expect(a).toMatchObject({ kind: 'answer' });
    if (a?.kind !== 'answer') return;
    expect(a.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['Name:varchar(57)', 'Value:varchar(14)', 'Default:varchar(14)', 'Type:varchar(7)', 'Description:varchar(142)']);
    expect(a.rows).toEqual([['query_max_run_time', '2h', '100.00d', 'varchar', 'Maximum run time of a query (includes the queueing time)']]);
    const all = run('SHOW SESSION');
    expect(all?.kind === 'answer' && all.rows.length).toBe(104);
  });

  it('a hostile LIKE pattern is matched in linear-ish time (no RegExp backtracking)', () => {
    const started = performance.now();
    const a = run(`SHOW SESSION LIKE '${'%a'.repeat(200)}%b'`);
    expect(a?.kind === 'answer' && a.rows).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000); // a RegExp of the same pattern would not finish
  });

  it('is not a session statement: undefined (the engine runs it)', () => {
    for (const sql of ['SELECT 1', 'SHOW TABLES', 'SET x = 1', "SELECT 'SET SESSION a = 1'"]) expect(run(sql)).toBeUndefined();
  });

  it('the helpers: Java URL encoding, durations, LIKE, the session time limit', () => {
    expect(javaUrlEncode("a b/c*d.e-f_g!'()~é")).toBe('a+b%2Fc*d.e-f_g%21%27%28%29%7E%C3%A9');
    expect([durationMs('1h'), durationMs('10.00m'), durationMs('250ms'), durationMs('1x'), durationMs('h')]).toEqual([3_600_000, 600_000, 250, undefined, undefined]);
    expect(likeMatch('a_bc', 'a!_%', '!')).toBe(true);
    expect(likeMatch('abc', 'a!_%', '!')).toBe(false);
    expect(likeMatch('q.xy', 'q.x_', undefined)).toBe(true);
    expect(likeMatch('query_max_run_time', '%max%time', undefined)).toBe(true);
    expect(likeMatch('query_max_run_time', '%max%times', undefined)).toBe(false);
    expect(likeMatch('', '%', undefined)).toBe(true);
    expect(likeMatch('a', '', undefined)).toBe(false);
    expect(sessionTimeLimitMs({ query_max_run_time: '2s', query_max_execution_time: '1h' })).toBe(2000);
    expect(sessionTimeLimitMs({})).toBeUndefined();
  });
});

// Why: the cacheability rules are the cache's correctness; each row is a statement and what a careful
// reader of DESIGN.md would decide for it.
import { describe, expect, it } from 'vitest';
import { classifySql, qualifyMentions } from '../../../src/query-cache/core/classify.ts';
import { normalizeSql, tokenize } from '../../../src/query-cache/core/sql.ts';

describe('normalizeSql', () => {
  it.each([
    ['SELECT  1', 'SELECT 1'],
    ['SELECT\n\t1 ;', 'SELECT 1'],
    ['SELECT 1 -- comment\n', 'SELECT 1'],
    ['SELECT /* c */ 1', 'SELECT 1'],
    ["SELECT 'a  -- not a comment'", "SELECT 'a  -- not a comment'"],
    ["SELECT 'it''s  ok'  FROM t", "SELECT 'it''s  ok' FROM t"],
    ['SELECT "weird  name" FROM t', 'SELECT "weird  name" FROM t'],
    ['SELECT a.b,c', 'SELECT a.b,c'],
  ])('%j -> %j', (sql, want) => {
    expect(normalizeSql(tokenize(sql).tokens)).toBe(want);
  });

  it('keeps literals distinct: whitespace inside strings is significant', () => {
    const a = normalizeSql(tokenize("SELECT 'a b'").tokens);
    const b = normalizeSql(tokenize("SELECT 'a  b'").tokens);
    expect(a).not.toBe(b);
  });

  it('lexes as the engines do: CR ends a line comment, E-strings take backslash escapes, dollar quotes are strings', () => {
    expect(normalizeSql(tokenize('SELECT 1 --x\r UNION ALL SELECT 2\n').tokens)).toBe('SELECT 1 UNION ALL SELECT 2');
    expect(tokenize("SELECT E'a\\n -- not a comment' AS a").tokens.map((t) => t.kind)).toEqual(['word', 'string', 'word', 'word']);
    // Trino ends E'\' at the second quote, DuckDB does not: refused
    expect(tokenize("SELECT E'it\\'s -- a comment?' AS a").error).toMatch(/may not escape a quote/);
    // a number ends where an exponent has no digits: `1e--x` is 1, e, then a comment (as both engines read it)
    expect(tokenize('SELECT 1e--x\n, 2').tokens.map((t) => t.text)).toEqual(['SELECT', '1', 'e', ',', '2']);
    expect(tokenize('SELECT 1.5e+10, 0x1F, 1_000, .5').tokens.filter((t) => t.kind === 'number').map((t) => t.text)).toEqual(['1.5e+10', '0x1F', '1_000', '.5']);
    expect(tokenize('SELECT $$ -- not a comment $$, $q$ x $q$ AS b').tokens.filter((t) => t.kind === 'string').map((t) => t.text)).toEqual(['$$ -- not a comment $$', '$q$ x $q$']);
    expect(tokenize('SELECT $1').tokens.map((t) => t.text)).toEqual(['SELECT', '$', '1']); // a parameter, not a quote
    // DuckDB nests block comments, Trino does not: a comment that opens another is refused
    expect(tokenize('/* /* */ SELECT 1 -- */ SELECT 2').error).toMatch(/may not contain/);
  });

  it('reports unterminated literals and comments', () => {
    expect(tokenize("SELECT 'abc").error).toMatch(/string/);
    expect(tokenize('SELECT /* abc').error).toMatch(/comment/);
    expect(tokenize('SELECT "abc').error).toMatch(/identifier/);
  });
});

describe('classifySql', () => {
  it.each([
    // [sql, readOnly, bypass]
    ['SELECT 1', true, undefined],
    ['  (SELECT 1) UNION (SELECT 2)', true, undefined],
    ['WITH x AS (SELECT 1) SELECT * FROM x', true, undefined],
    ['VALUES (1, 2)', true, undefined],
    ['SHOW TABLES', true, undefined],
    ['DESCRIBE demo.sales.orders', true, undefined],
    ['EXPLAIN SELECT 1', true, undefined],
    ['EXPLAIN ANALYZE SELECT 1', false, 'not-read-only'], // ANALYZE executes
    ['INSERT INTO t VALUES (1)', false, 'not-read-only'],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x', false, 'not-read-only'],
    ['DELETE FROM t', false, 'not-read-only'],
    ['CREATE TABLE t AS SELECT 1', false, 'not-read-only'],
    ['SET SESSION query_max_run_time = \'1h\'', false, 'session'], // allowed, never cached
    ['START TRANSACTION', false, 'session'],
    ['USE hive.web', false, 'session'],
    ['PREPARE q FROM SELECT 1', false, 'session'],
    ['SET ROLE admin', false, 'session'],
    ['EXECUTE q', false, 'not-read-only'], // the prepared body could write
    // Trino's JDBC driver sends a PreparedStatement as EXECUTE IMMEDIATE: it reads like its statement.
    ["EXECUTE IMMEDIATE 'SELECT name FROM tpch.tiny.nation WHERE nationkey = ?' USING 3", true, undefined],
    ["EXECUTE IMMEDIATE 'SELECT now()'", true, 'nondeterministic'],
    ["EXECUTE IMMEDIATE 'DELETE FROM t WHERE a = ?' USING 1", false, 'not-read-only'],
    ["EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE ''SELECT 1'''", false, 'not-read-only'], // one level only
    // Write words used as names (tpch's `comment` columns, `start`, `load`, `set`) are names, not writes.
    ['SELECT orderkey, comment FROM tpch.tiny.orders', true, undefined],
    ['SELECT comment, n.comment FROM tpch.tiny.nation n WHERE comment LIKE \'%x%\' ORDER BY comment DESC', true, undefined],
    ['SELECT start, load, set, "update" FROM t WHERE start > 1 AND load = 2', true, undefined],
    ['SELECT a AS comment FROM t', true, undefined],
    // …but where a statement can begin, they still write.
    ['WITH x AS (SELECT 1) DELETE FROM t', false, 'not-read-only'],
    ['WITH x AS (SELECT 1) UPDATE t SET a = 1', false, 'not-read-only'],
    ['SELECT * FROM (DELETE FROM t RETURNING *)', false, 'not-read-only'],
    ['EXPLAIN ANALYZE VERBOSE SELECT comment FROM t', false, 'not-read-only'],
    ['EXPLAIN (ANALYSE) SELECT 1', false, 'not-read-only'],
    ['EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1', false, 'not-read-only'],
    ['SELECT * FROM t USING SAMPLE 10%', true, 'nondeterministic'], // DuckDB's sampling
    ['SELECT "now"()', true, 'nondeterministic'], // a quoted name calls the same function
    ['SELECT uuidv4(), uuidv7()', true, 'nondeterministic'],
    ['SELECT current_localtimestamp()', true, 'nondeterministic'],
    ['SELECT 1;', true, undefined], // a trailing semicolon is not a second statement
    ['SELECT now()', true, 'nondeterministic'],
    ['SELECT current_timestamp', true, 'nondeterministic'],
    ['SELECT CURRENT_DATE - 1', true, 'nondeterministic'],
    ['SELECT random() FROM t', true, 'nondeterministic'],
    ['SELECT uuid()', true, 'nondeterministic'],
    ["SELECT UUID '12151fd2-7586-11e9-8f9e-2a86e4085a59' AS u", true, undefined], // a typed literal, not a call
    ['SELECT current_user', true, 'nondeterministic'],
    ['SELECT * FROM t TABLESAMPLE BERNOULLI (10)', true, 'nondeterministic'],
    ["SELECT 'now()' AS label", true, undefined], // inside a literal: not a call
    ['SELECT * FROM system.runtime.queries', true, 'system-table'],
    ['SELECT * FROM demo.information_schema.tables', true, 'system-table'],
    ['SELECT * FROM "orders$partitions"', true, 'system-table'],
    ['', false, 'empty'],
    ['-- only a comment', false, 'empty'],
  ] as const)('%j', (sql, readOnly, bypass) => {
    const c = classifySql(sql);
    expect(c.readOnly).toBe(readOnly);
    expect(c.bypass).toBe(bypass);
  });
});

describe('EXECUTE of a prepared statement the client holds', () => {
  it('reads like its body; an unknown name or a writing body stays not read-only', () => {
    const prepared = { statement1: 'SELECT * FROM demo.sales.orders WHERE order_id = ?', w: 'INSERT INTO t VALUES (?)' };
    const c = classifySql('EXECUTE statement1 USING 5', { prepared });
    expect([c.readOnly, c.bypass]).toEqual([true, undefined]);
    expect(c.normalizedSql).toBe('EXECUTE statement1 USING 5'); // the key keeps the USING values
    expect(c.mentions).toContainEqual(['demo', 'sales', 'orders']);
    expect(classifySql('EXECUTE w USING 1', { prepared }).readOnly).toBe(false);
    expect(classifySql('EXECUTE other USING 1', { prepared }).readOnly).toBe(false);
    expect(classifySql('EXECUTE statement1 USING 5').readOnly).toBe(false); // no header: unknown body
  });

  it('judges the statement it runs, USING values in place: a value that reads a table or is random() counts', () => {
    const prepared = { q: 'SELECT name FROM demo.sales.customers WHERE customer_id = ?' };
    const sub = classifySql('EXECUTE q USING (SELECT max(customer_id) FROM demo.secret.salaries)', { prepared });
    expect(sub.mentions).toContainEqual(['demo', 'secret', 'salaries']);
    expect(sub.parseTarget).toBe('SELECT name FROM demo.sales.customers WHERE customer_id = ((SELECT max(customer_id) FROM demo.secret.salaries))');
    expect(classifySql('EXECUTE q USING random()', { prepared }).bypass).toBe('nondeterministic');
    expect(classifySql("EXECUTE IMMEDIATE 'SELECT ?' USING (SELECT 1 FROM information_schema.tables LIMIT 1)").bypass).toBe('system-table');
  });

  it("an EXECUTE that cannot run carries Trino's error for it", () => {
    expect(classifySql('EXECUTE q USING 1').executeError).toEqual({ errorName: 'NOT_FOUND', message: 'Prepared statement not found: q' });
    expect(classifySql("EXECUTE IMMEDIATE 'SELECT ?, ?' USING 1").executeError).toEqual({
      errorName: 'INVALID_PARAMETER_USAGE',
      message: 'line 1:20: Incorrect number of parameters: expected 2 but found 1',
    });
  });
});

describe('syntax errors', () => {
  it.each([
    ['SELEC 1', /^line 1:1: mismatched input 'SELEC'/],
    ['  \n  frob the table', /^line 2:3: mismatched input 'frob'/],
    ['42', /^line 1:1: mismatched input '42'/],
    ["SELECT 'x", /^line 1:8: unterminated string literal/],
    ['SELECT 1; SELECT 2', /^line 1:9: only one statement per request/],
    ['(', /^line 1:1: no statement inside the parentheses/],
    ['((', /^line 1:1: no statement/],
  ])('%j', (sql, want) => {
    expect(classifySql(sql).syntaxError).toMatch(want);
  });

  it('a trailing semicolon or a comment is not a second statement', () => {
    expect(classifySql('SELECT 1; -- done').syntaxError).toBeUndefined();
  });
});

describe('mentions (what protective rules see when the parser cannot give a complete set)', () => {
  const mentioned = (sql: string) => qualifyMentions(classifySql(sql).mentions, 'demo', 'sales');

  it.each([
    ['SELECT * FROM orders', ['demo.sales.orders']],
    ['SELECT * FROM ops.gpu_usage', ['demo.ops.gpu_usage', 'ops.main.gpu_usage', 'demo.sales.ops']],
    ['SELECT * FROM Hive.Web.Clicks c', ['demo.sales.c', 'demo.sales.hive', 'demo.hive.web', 'hive.main.web', 'hive.web.clicks']],
    ["SELECT * FROM query_table('demo.secret.t')", ['demo.secret.t', 'demo.demo.secret', 'demo.main.secret', 'demo.sales.demo']],
    ["SELECT * FROM query('select * from x.y')", ['demo.x.y', 'x.main.y', 'demo.sales.x']],
    ['SELECT count(*) FROM range(10)', []],
  ])('%j', (sql, want) => {
    expect(mentioned(sql)).toEqual([...want].sort());
  });

  it('reads the explained statement for the parser', () => {
    // the whole rest of the text: the parser must see exactly what the engine will run
    expect(classifySql('EXPLAIN (TYPE DISTRIBUTED) SELECT * FROM orders; -- done').parseTarget).toBe('SELECT * FROM orders; -- done');
    expect(classifySql('EXPLAIN (TYPE DISTRIBUTED) SELECT * FROM orders;').normalizedTarget).toBe('SELECT * FROM orders');
    expect(classifySql('SELECT 1 ;').parseTarget).toBe('SELECT 1 ;');
  });
});

// Why: the measure of the embedded engine's Trino face is differential: the same statement sent to a
// real Trino (the demo tables in its memory catalog `demo`) and to hotpath on its embedded engine must
// give the same columns (names and types), rows, update type, session headers and error name. This
// compares two answers, says what differs, and writes the table of shares the issue asks for.
import type { JdbcStep } from './java-clients.ts';
import { comparable, type RawAnswer } from './protocol.ts';

export type CorpusGroup = 'metadata' | 'jdbc' | 'dashboard' | 'session';

export interface CorpusEntry {
  group: CorpusGroup;
  /** SQL for the statement protocol; for `jdbc`, a JdbcProbe step (META …, PREPARED …, EXECUTE …). */
  sql: string;
  /** Extra request headers (both sides): a prepared statement the client holds, a session value. */
  headers?: Record<string, string>;
  /** Why this entry is known to answer otherwise on the embedded engine; absent: it must answer identically. */
  differs?: string;
}

/** Rows as comparable values, in order when the statement orders them, else sorted (a set of rows). */
function rowsOf(rows: unknown[][], ordered: boolean): string[] {
  const out = rows.map((r) => JSON.stringify(r));
  return ordered ? out : out.sort();
}

const ORDERED = /\border\s+by\b/i;

/** What differs between Trino's answer and hotpath's (empty: identical). Error messages are not compared, their names are. */
export function answerDifferences(sql: string, trino: RawAnswer, hotpath: RawAnswer): string[] {
  const d: string[] = [];
  if (trino.error || hotpath.error) {
    if (trino.error?.errorName !== hotpath.error?.errorName) d.push(`error: Trino ${trino.error?.errorName ?? 'none'}, hotpath ${hotpath.error?.errorName ?? 'none'} (${(hotpath.error ?? trino.error)!.message.slice(0, 160)})`);
    return d;
  }
  const cols = (a: RawAnswer) => (a.columns ?? []).map((c) => `${c.name}:${c.type}`).join(', ');
  if (cols(trino) !== cols(hotpath)) d.push(`columns: Trino [${cols(trino)}], hotpath [${cols(hotpath)}]`);
  const ordered = ORDERED.test(sql);
  const [a, b] = [rowsOf(comparable(trino.rows) as unknown[][], ordered), rowsOf(comparable(hotpath.rows) as unknown[][], ordered)];
  if (a.length !== b.length) d.push(`rows: Trino ${a.length}, hotpath ${b.length}`);
  else {
    const at = a.findIndex((r, i) => r !== b[i]);
    if (at >= 0) d.push(`row ${at}: Trino ${a[at]!.slice(0, 200)}, hotpath ${b[at]!.slice(0, 200)}`);
  }
  if (trino.updateType !== hotpath.updateType) d.push(`updateType: Trino ${trino.updateType}, hotpath ${hotpath.updateType}`);
  const sess = (x: RawAnswer) => JSON.stringify(Object.fromEntries(Object.entries(x.sessionHeaders).map(([k, v]) => [k, [...new Set(v)]]).sort()));
  if (sess(trino) !== sess(hotpath)) d.push(`session headers: Trino ${sess(trino).slice(0, 200)}, hotpath ${sess(hotpath).slice(0, 200)}`);
  return d;
}

/** The same for one JdbcProbe step (what the driver reported: labels, JDBC types, getString values, or the error's SQLState). */
export function jdbcDifferences(trino: JdbcStep, hotpath: JdbcStep): string[] {
  const d: string[] = [];
  if (trino.error || hotpath.error) {
    if ((trino.error === undefined) !== (hotpath.error === undefined)) d.push(`error: Trino ${trino.error?.message ?? 'none'}, hotpath ${hotpath.error?.message ?? 'none'}`);
    return d;
  }
  const cols = (s: JdbcStep) => (s.columns ?? []).map((c) => `${c.name}:${c.type}:${c.jdbcType}`).join(', ');
  if (cols(trino) !== cols(hotpath)) d.push(`columns: Trino [${cols(trino)}], hotpath [${cols(hotpath)}]`);
  const rows = (s: JdbcStep) => (s.rows ?? []).map((r) => JSON.stringify(r));
  const [a, b] = [rows(trino), rows(hotpath)];
  if (a.length !== b.length) d.push(`rows: Trino ${a.length} ${a.slice(0, 4).join(' ')}, hotpath ${b.length} ${b.slice(0, 4).join(' ')}`);
  else {
    const at = a.findIndex((r, i) => r !== b[i]);
    if (at >= 0) d.push(`row ${at}: Trino ${a[at]!.slice(0, 200)}, hotpath ${b[at]!.slice(0, 200)}`);
  }
  if (trino.updateCount !== hotpath.updateCount) d.push(`updateCount: Trino ${trino.updateCount}, hotpath ${hotpath.updateCount}`);
  return d;
}

export interface CorpusOutcome {
  entry: CorpusEntry;
  differences: string[];
}

/** The report: per group and overall, how many answer identically, and each entry that differs with what and why. */
export function differentialReport(outcomes: readonly CorpusOutcome[]): string {
  const groups: CorpusGroup[] = ['metadata', 'jdbc', 'dashboard', 'session'];
  const line = (name: string, of: readonly CorpusOutcome[]) => {
    const same = of.filter((o) => o.differences.length === 0).length;
    return `| ${name} | ${of.length} | ${same} | ${of.length === 0 ? '-' : `${((100 * same) / of.length).toFixed(0)} %`} |`;
  };
  const out = ['| corpus | statements | identical | share |', '|---|---:|---:|---:|'];
  for (const g of groups) out.push(line(g, outcomes.filter((o) => o.entry.group === g)));
  out.push(line('all', outcomes));
  out.push('', 'What differs, and why:');
  for (const o of outcomes.filter((x) => x.differences.length > 0)) {
    out.push(`- [${o.entry.group}] \`${o.entry.sql.replace(/\s+/g, ' ').slice(0, 110)}\`: ${o.entry.differs ?? 'UNEXPECTED'} — ${o.differences.join('; ')}`);
  }
  return out.join('\n');
}

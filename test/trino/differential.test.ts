// Why: the measure of the embedded engine's Trino face. Every statement of the corpus
// (differential-corpus.ts: metadata statements, the JDBC driver's DatabaseMetaData and PreparedStatement,
// dashboard queries, session statements) goes to the real Trino 476 (demo tables in its memory catalog)
// and to hotpath on its embedded engine, the same headers on both (catalog demo, schema sales, and the
// PARAMETRIC_DATETIME capability the JDBC driver and CLI send). Each must answer identically unless the
// corpus names why it differs, and each named difference must still differ; the share table is printed.
import { writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { CORPUS } from './differential-corpus.ts';
import { answerDifferences, differentialReport, jdbcDifferences, type CorpusOutcome } from './helpers/differential.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';
import { jdbc } from './helpers/java-clients.ts';
import { runStatement } from './helpers/protocol.ts';

const { url: trinoUrl, setup } = inject('trino');
let embedded: TestApp;
useTrinoSuite(async (s) => {
  embedded = await s.embedded();
});

const HEADERS = { 'x-trino-catalog': 'demo', 'x-trino-schema': 'sales', 'x-trino-client-capabilities': 'PARAMETRIC_DATETIME' };
const jdbcUrl = (base: string) => `jdbc:trino://${new URL(base).host}/demo/sales`;

describe('differential: the same corpus to Trino 476 and to the embedded engine', () => {
  it('answers identically except where the corpus says why not; prints the share', async () => {
    const outcomes: CorpusOutcome[] = [];
    for (const entry of CORPUS.filter((e) => e.group !== 'jdbc')) {
      const opts = { user: 'alice', headers: { ...HEADERS, ...entry.headers } };
      const trino = await runStatement(trinoUrl, entry.sql, opts);
      const hotpath = await runStatement(embedded.url, entry.sql, opts);
      outcomes.push({ entry, differences: answerDifferences(entry.sql, trino, hotpath) });
    }
    const steps = CORPUS.filter((e) => e.group === 'jdbc');
    const viaTrino = await jdbc(setup, jdbcUrl(trinoUrl), 'alice', undefined, steps.map((s) => s.sql));
    const viaHotpath = await jdbc(setup, jdbcUrl(embedded.url), 'alice', undefined, steps.map((s) => s.sql));
    steps.forEach((entry, i) => outcomes.push({ entry, differences: jdbcDifferences(viaTrino[i]!, viaHotpath[i]!) }));

    const report = differentialReport(outcomes);
    console.log(`\n${report}\n`);
    if (process.env.HOTPATH_DIFFERENTIAL_REPORT) writeFileSync(process.env.HOTPATH_DIFFERENTIAL_REPORT, `${report}\n`);
    const unexpected = outcomes.filter((o) => o.entry.differs === undefined && o.differences.length > 0).map((o) => `${o.entry.sql}: ${o.differences.join('; ')}`);
    const stale = outcomes.filter((o) => o.entry.differs !== undefined && o.differences.length === 0).map((o) => o.entry.sql);
    expect(unexpected, 'answers that differ from Trino with no reason in the corpus').toEqual([]);
    expect(stale, 'corpus entries said to differ that now answer identically: drop their `differs`').toEqual([]);
    expect(outcomes.filter((o) => o.differences.length === 0).length / outcomes.length).toBeGreaterThan(0.8);
  });
});

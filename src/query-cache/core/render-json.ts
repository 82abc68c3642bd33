// Why: the JSON door's answer bytes, rendered once per execution and stored as they are sent.
// Integers past 2^53 arrive as bigint and are written as bare digits (JSON.rawJSON), bit-exact. Pure.

import type { Cell, EngineResult } from '../engines/engine.ts';

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

const bigintAware = (_key: string, value: unknown) => (typeof value === 'bigint' ? JSON.rawJSON(value.toString()) : value);

/** JSON text of a value that may hold bigints. */
export function stringifyCells(value: Cell[][] | Cell): string {
  return JSON.stringify(value, bigintAware);
}

/** `{"columns":[{"name","type"}],"rows":[[...]],"rowCount":n}` */
export function renderJsonAnswer(result: EngineResult): Buffer {
  const columns = JSON.stringify(result.columns.map((c) => ({ name: c.name, type: c.type })));
  return Buffer.from(`{"columns":${columns},"rows":${stringifyCells(result.rows)},"rowCount":${result.rows.length}}`);
}

// Why: the one answer pipeline (service.ts) serves two doors whose bytes differ: the JSON door sends one
// JSON document, the Trino door QueryResults pages. A format says what a page of each is, how a complete
// answer is stored (the exact bytes a hit sends) and how a stored answer is read back as pages. Pure.

import type { Cell, Column } from '../engines/engine.ts';

/** Cuts one answer's rows into the door's page bytes as they arrive. */
export interface AnswerPager {
  /** The `columns` bytes of the answer (from the first batch). */
  columns(columns: Column[]): Buffer;
  /** Pages completed by these rows. */
  add(rows: readonly Cell[][]): Buffer[];
  /** The last pages, once every row was added. */
  end(rowCount: number): Buffer[];
}

export interface AnswerFormat {
  /** Key input: doors never share stored bytes (`json-v1`, `trino-v1`). */
  format: string;
  contentType: string;
  pager(): AnswerPager;
  /** The stored body of a complete answer (what a hit sends, or pages out). */
  assemble(columns: Buffer, pages: readonly Buffer[]): Buffer;
  /** A stored body as columns and pages (views, no copies). Throws on bytes not of this format. */
  split(body: Buffer): { columns: Buffer; pages: Buffer[] };
}

/** A whole result in a format's stored form (what a miss would store), for tests and benchmarks. */
export function renderWhole(format: AnswerFormat, result: { columns: Column[]; rows: Cell[][] }): Buffer {
  const pager = format.pager();
  const columns = pager.columns(result.columns);
  return format.assemble(columns, [...pager.add(result.rows), ...pager.end(result.rows.length)]);
}

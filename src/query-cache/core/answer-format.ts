// Why: the one answer pipeline (service.ts) serves two doors whose bytes differ: the JSON door sends one
// JSON document, the Trino door QueryResults pages. A format says what a page of each is, how a complete
// answer is stored (the exact bytes a hit sends) and how a stored answer is read back as pages. Pure.

import { EngineError, type Cell, type Column } from '../engines/engine.ts';

/**
 * Largest row rendered. Rendering is on the event loop and a row is rendered at once, so one huge value
 * (`repeat('x', 500000000)`, a list of a million strings) would hold every other request for seconds.
 */
export const MAX_ROW_BYTES = 16 * 1024 * 1024;

/** A string's JSON size (at most; escapes counted for long strings, where they could add up). */
function stringBytes(s: string): number {
  let bytes = s.length + 2;
  if (s.length <= 4096) return bytes + (s.length >> 2); // short: a generous allowance, no scan
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) bytes += 5; // \u00XX
    else if (c === 0x22 || c === 0x5c) bytes += 1;
  }
  return bytes;
}

/**
 * About the JSON size of a row; refuses one whose values add up to more than `maxBytes` (stops counting
 * early, so a huge value costs no more than a small one).
 */
export function checkRowSize(row: readonly Cell[], maxBytes = MAX_ROW_BYTES): number {
  let bytes = 0;
  let nested: Cell[] | undefined;
  // Flat rows (the common case) are summed without allocating; nested values are walked after.
  for (const v of row) {
    if (typeof v === 'string') bytes += stringBytes(v);
    else if (v !== null && typeof v === 'object') (nested ??= []).push(v);
    else bytes += 8;
  }
  while (nested !== undefined && nested.length > 0 && bytes <= maxBytes) {
    const v = nested.pop()!;
    if (typeof v === 'string') bytes += stringBytes(v);
    else if (Array.isArray(v)) {
      bytes += v.length + 2;
      for (const x of v) nested.push(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        bytes += k.length + 4;
        nested.push(x);
      }
    } else bytes += 8;
  }
  if (bytes > maxBytes) {
    // A user error (the query asks for too much in one row), named as Trino names a memory limit.
    throw new EngineError('user', 'EXCEEDED_LOCAL_MEMORY_LIMIT', `a row of the answer is larger than ${maxBytes} bytes; select less per row`);
  }
  return bytes;
}

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

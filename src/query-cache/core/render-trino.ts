// Why: the Trino door's stored answer. A result is cut into pages once, at miss time, and stored as
// bytes: the `columns` JSON and each page's `data` JSON. A hit assembles QueryResults pages by
// concatenating those bytes, so rows are never parsed or serialised again (bigints stay bit-exact).
// Pure.
//
// Layout: u32 pageCount | u32 columnsBytes | pageCount × u32 pageBytes | columns JSON | page JSON …

import type { EngineResult } from '../engines/engine.ts';
import { renderWhole, type AnswerFormat } from './answer-format.ts';
import { RenderedRows } from './render-json.ts';

/** Trino's default target page size is 1 MB; pages here are cut at about this many bytes of rows. */
export const DEFAULT_PAGE_BYTES = 1024 * 1024;

export interface PagedAnswer {
  columns: Buffer;
  pages: Buffer[];
}

/**
 * Cuts rows into page bytes of about `pageBytes` as they arrive: `add` returns the pages completed by
 * these rows, `end` the last partial one. Both the whole-result renderer and streaming use it.
 */
export class Pager {
  private readonly rows: RenderedRows;

  constructor(pageBytes = DEFAULT_PAGE_BYTES) {
    this.rows = new RenderedRows(pageBytes);
  }

  add(rows: readonly EngineResult['rows'][number][]): Buffer[] {
    return this.rows.add(rows, () => this.flush());
  }

  end(): Buffer[] {
    return this.rows.count > 0 ? [this.flush()] : [];
  }

  private flush(): Buffer {
    return Buffer.from(`[${this.rows.take()}]`);
  }
}

export function renderColumns(columns: EngineResult['columns']): Buffer {
  return Buffer.from(JSON.stringify(columns));
}

/** The stored form of a paged answer (layout above). */
export function assemblePagedAnswer(columns: Buffer, pages: readonly Buffer[]): Buffer {
  const header = Buffer.allocUnsafe(8 + 4 * pages.length);
  header.writeUInt32BE(pages.length, 0);
  header.writeUInt32BE(columns.length, 4);
  pages.forEach((p, i) => header.writeUInt32BE(p.length, 8 + 4 * i));
  return Buffer.concat([header, columns, ...pages]);
}

/** The Trino door's format: pages are `data` arrays of about `pageBytes`; columns are kept apart. */
export function trinoFormatOf(pageBytes = DEFAULT_PAGE_BYTES): AnswerFormat {
  return {
    format: 'trino-v1',
    contentType: 'application/json',
    pager: () => {
      const pager = new Pager(pageBytes);
      return { columns: renderColumns, add: (rows) => pager.add(rows), end: () => pager.end() };
    },
    assemble: assemblePagedAnswer,
    split: readPagedAnswer,
  };
}

export const trinoFormat = trinoFormatOf();

export function renderTrinoAnswer(result: EngineResult, pageBytes = DEFAULT_PAGE_BYTES): Buffer {
  return renderWhole(trinoFormatOf(pageBytes), result);
}

/** Views into a stored answer (no copies). Throws on bytes that are not a paged answer. */
export function readPagedAnswer(body: Buffer): PagedAnswer {
  if (body.length < 8) throw new Error('not a paged answer');
  const pageCount = body.readUInt32BE(0);
  const columnsBytes = body.readUInt32BE(4);
  let offset = 8 + 4 * pageCount;
  const columns = body.subarray(offset, offset + columnsBytes);
  offset += columnsBytes;
  const pages: Buffer[] = [];
  for (let i = 0; i < pageCount; i++) {
    const len = body.readUInt32BE(8 + 4 * i);
    pages.push(body.subarray(offset, offset + len));
    offset += len;
  }
  if (offset !== body.length) throw new Error('paged answer is truncated or has trailing bytes');
  return { columns, pages };
}

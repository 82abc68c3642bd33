// Why: the Trino door's stored answer. A result is cut into pages once, at miss time, and stored as
// bytes: the `columns` JSON and each page's `data` JSON. A hit assembles QueryResults pages by
// concatenating those bytes, so rows are never parsed or serialised again (bigints stay bit-exact).
// Pure.
//
// Layout: u32 pageCount | u32 columnsBytes | pageCount × u32 pageBytes | columns JSON | page JSON …

import type { EngineResult } from '../engines/engine.ts';
import { stringifyCells } from './render-json.ts';

/** Trino's default target page size is 1 MB; pages here are cut at about this many bytes of rows. */
export const DEFAULT_PAGE_BYTES = 1024 * 1024;

export interface PagedAnswer {
  columns: Buffer;
  pages: Buffer[];
}

export function renderTrinoAnswer(result: EngineResult, pageBytes = DEFAULT_PAGE_BYTES): Buffer {
  const columns = Buffer.from(JSON.stringify(result.columns));
  const pages: Buffer[] = [];
  let rows: string[] = [];
  let size = 0;
  const flush = () => {
    pages.push(Buffer.from(`[${rows.join(',')}]`));
    rows = [];
    size = 0;
  };
  for (const row of result.rows) {
    const text = stringifyCells(row);
    rows.push(text);
    size += text.length + 1;
    if (size >= pageBytes) flush();
  }
  if (rows.length > 0) flush();
  const header = Buffer.allocUnsafe(8 + 4 * pages.length);
  header.writeUInt32BE(pages.length, 0);
  header.writeUInt32BE(columns.length, 4);
  pages.forEach((p, i) => header.writeUInt32BE(p.length, 8 + 4 * i));
  return Buffer.concat([header, columns, ...pages]);
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

// Why: the JSON door's answer bytes, `{"columns":[…],"rows":[…],"rowCount":n}`, produced in pieces as rows
// arrive (a large answer streams) and stored as the concatenation of those pieces, which is exactly what a
// hit sends. Integers past 2^53 arrive as bigint and are written as bare digits (JSON.rawJSON), -0 as -0.0. Pure.

import type { Cell, EngineResult } from '../engines/engine.ts';
import { checkRowSize, renderWhole, type AnswerFormat, type AnswerPager } from './answer-format.ts';

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

// A negative zero keeps its sign as Trino writes it (`-0.0`): JSON.stringify would write `0`, another value.
const bigintAware = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? JSON.rawJSON(value.toString()) : typeof value === 'number' && Object.is(value, -0) ? JSON.rawJSON('-0.0') : value;

/** JSON text of a value that may hold bigints. */
export function stringifyCells(value: Cell[][] | Cell): string {
  return JSON.stringify(value, bigintAware);
}

/**
 * Rows rendered to JSON text (each checked against the row limit first) and gathered until they reach
 * about `limitBytes`; both formats' pagers cut their pages from it.
 */
export class RenderedRows {
  private texts: string[] = [];
  private size = 0;
  private readonly limitBytes: number;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  get count(): number {
    return this.texts.length;
  }

  /** Adds rows; each time the gathered ones reach the limit, `cut` makes a page of them (taken with `take`). */
  add(rows: readonly Cell[][], cut: () => Buffer): Buffer[] {
    const done: Buffer[] = [];
    for (const row of rows) {
      checkRowSize(row);
      const text = stringifyCells(row);
      this.texts.push(text);
      this.size += text.length + 1;
      if (this.size >= this.limitBytes) done.push(cut());
    }
    return done;
  }

  /** The gathered rows, comma-joined, and a fresh start. */
  take(): string {
    const text = this.texts.join(',');
    this.texts = [];
    this.size = 0;
    return text;
  }
}

/** Pieces of the document are cut at about this many bytes: small enough to stream, large enough to be cheap. */
export const JSON_PIECE_BYTES = 64 * 1024;

/** Pieces of one JSON answer: the first opens the document, the last closes it with the row count. */
class JsonPager implements AnswerPager {
  private head = '';
  private opened = false;
  private readonly rows: RenderedRows;

  constructor(pieceBytes: number) {
    this.rows = new RenderedRows(pieceBytes);
  }

  /** The columns open the document (they are in its first piece), so no separate bytes are kept. */
  columns(columns: EngineResult['columns']): Buffer {
    this.head = `{"columns":${JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type })))},"rows":[`;
    return Buffer.alloc(0);
  }

  add(rows: readonly Cell[][]): Buffer[] {
    return this.rows.add(rows, () => this.flush(''));
  }

  end(rowCount: number): Buffer[] {
    return [this.flush(`],"rowCount":${rowCount}}`)];
  }

  private flush(tail: string): Buffer {
    let text = this.opened ? (this.rows.count > 0 ? ',' : '') : this.head;
    text += this.rows.take() + tail;
    this.opened = true;
    return Buffer.from(text);
  }
}

export const jsonFormat: AnswerFormat = {
  format: 'json-v1',
  contentType: 'application/json; charset=utf-8',
  pager: () => new JsonPager(JSON_PIECE_BYTES),
  assemble: (_columns, pages) => (pages.length === 1 ? pages[0]! : Buffer.concat(pages)),
  split: (body) => ({ columns: Buffer.alloc(0), pages: [body] }),
};

/** `{"columns":[{"name","type"}],"rows":[[...]],"rowCount":n}` of a whole result. */
export function renderJsonAnswer(result: EngineResult): Buffer {
  return renderWhole(jsonFormat, result);
}

// Why: Open Inference Protocol v2 tensors as the batcher moves them: flat row-major data with a shape
// whose first dimension is the batch. Requests are cut into row ranges (a part of a split request, or one
// request's share of a batch), batches are concatenated from them, and a batch's outputs are cut back
// into each request's rows. Pure.

export type TensorData = (number | string | boolean)[];

export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: TensorData;
}

/** Elements per batch row of `t` (the product of its shape after the batch dimension). */
export function rowWidth(t: Pick<Tensor, 'shape'>): number {
  return t.shape.slice(1).reduce((n, d) => n * d, 1);
}

/** Rows `from` (inclusive) to `to` (exclusive) of each tensor. */
export function sliceRows(tensors: readonly Tensor[], from: number, to: number): Tensor[] {
  return tensors.map((t) => {
    const w = rowWidth(t);
    return { name: t.name, datatype: t.datatype, shape: [to - from, ...t.shape.slice(1)], data: t.data.slice(from * w, to * w) };
  });
}

/** The tensors of several row ranges, stacked along the batch dimension (same names, types and row shapes). */
export function concatRows(parts: readonly (readonly Tensor[])[]): Tensor[] {
  const first = parts[0];
  if (first === undefined) return [];
  return first.map((t, i) => {
    let rows = 0;
    const data: TensorData = [];
    for (const p of parts) {
      const u = p[i]!;
      if (u.name !== t.name || u.datatype !== t.datatype || u.shape.slice(1).join() !== t.shape.slice(1).join()) {
        throw new Error(`cannot batch tensor ${u.name} (${u.datatype} ${JSON.stringify(u.shape)}) with ${t.name} (${t.datatype} ${JSON.stringify(t.shape)})`);
      }
      rows += u.shape[0]!;
      for (const v of u.data) data.push(v);
    }
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data };
  });
}

// Why: an Open Inference Protocol v2 infer request checked against a model's signature before it is
// queued: every input the model takes, with its datatype and row shape, `data` flattened (row-major,
// nested lists accepted), one batch size for all inputs; `parameters.priority` (Triton's levels: 1 the
// highest, 0 the default) and `parameters.timeout` (µs); requested outputs the model has. A bad request
// gets the protocol's 400 message, never a queue slot. Pure.
import type { Tensor, TensorData } from './tensors.ts';

export interface TensorSpec {
  name: string;
  datatype: string;
  /** -1: any size (the first dimension is the batch). */
  shape: readonly number[];
}

export interface Signature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

export interface InferBody {
  id?: unknown;
  parameters?: unknown;
  inputs?: unknown;
  outputs?: unknown;
}

export type Checked =
  | { ok: true; id: string | undefined; inputs: Tensor[]; outputs: string[] | undefined; priority: number; timeoutMs: number | undefined; rows: number }
  | { ok: false; message: string };

const NUMERIC = new Set(['FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function flatten(data: unknown, out: TensorData, depth = 0): boolean {
  if (!Array.isArray(data)) return false;
  for (const v of data) {
    if (Array.isArray(v)) {
      if (depth > 8 || !flatten(v, out, depth + 1)) return false;
    } else out.push(v as number | string | boolean);
  }
  return true;
}

/** Checks `body` against `sig`; `maxRows` bounds one request's batch dimension. */
export function checkInfer(body: unknown, sig: Signature, maxRows: number): Checked {
  if (!isObject(body)) return { ok: false, message: 'the request body must be a JSON object' };
  const b = body as InferBody;
  if (b.id !== undefined && (typeof b.id !== 'string' || b.id.length > 256)) return { ok: false, message: 'id must be a string of at most 256 characters' };
  let priority = 0;
  let timeoutMs: number | undefined;
  if (b.parameters !== undefined) {
    if (!isObject(b.parameters)) return { ok: false, message: 'parameters must be an object' };
    const p = b.parameters.priority;
    if (p !== undefined) {
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) return { ok: false, message: 'parameters.priority must be a non-negative integer (1 is the highest level, 0 the default)' };
      priority = p;
    }
    const t = b.parameters.timeout;
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 3_600_000_000) return { ok: false, message: 'parameters.timeout must be an integer number of microseconds (0 to 3600000000)' };
      if (t > 0) timeoutMs = t / 1000;
    }
  }
  if (!Array.isArray(b.inputs) || b.inputs.length === 0) return { ok: false, message: 'inputs must be a non-empty list' };
  const byName = new Map<string, Tensor>();
  let rows: number | undefined;
  for (const [i, raw] of b.inputs.entries()) {
    if (!isObject(raw)) return { ok: false, message: `inputs[${i}] must be an object {name, shape, datatype, data}` };
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string') return { ok: false, message: `inputs[${i}].name must be a string` };
    const spec = sig.inputs.find((s) => s.name === name);
    if (spec === undefined) return { ok: false, message: `unexpected input '${name}' (the model takes ${sig.inputs.map((s) => s.name).join(', ')})` };
    if (byName.has(name)) return { ok: false, message: `input '${name}' is given twice` };
    if (datatype !== spec.datatype) return { ok: false, message: `input '${name}': datatype ${JSON.stringify(datatype)}, the model expects ${spec.datatype}` };
    if (!Array.isArray(shape) || shape.length !== spec.shape.length || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      return { ok: false, message: `input '${name}': shape must be ${spec.shape.length} non-negative integers like ${JSON.stringify(spec.shape)}` };
    }
    const mismatch = spec.shape.findIndex((d, k) => d !== -1 && d !== shape[k]);
    if (mismatch >= 0) return { ok: false, message: `input '${name}': dimension ${mismatch} is ${shape[mismatch]}, the model expects ${spec.shape[mismatch]}` };
    const flat: TensorData = [];
    if (!flatten(data, flat)) return { ok: false, message: `input '${name}': data must be a (possibly nested) list` };
    const elements = (shape as number[]).reduce((n, d) => n * d, 1);
    if (flat.length !== elements) return { ok: false, message: `input '${name}': shape ${JSON.stringify(shape)} holds ${elements} elements, data has ${flat.length}` };
    if (NUMERIC.has(spec.datatype) ? flat.some((v) => typeof v !== 'number' || !Number.isFinite(v)) : spec.datatype === 'BOOL' ? flat.some((v) => typeof v !== 'boolean') : flat.some((v) => typeof v !== 'string')) {
      return { ok: false, message: `input '${name}': data must all be ${spec.datatype} values` };
    }
    const r = shape[0] as number;
    if (rows !== undefined && r !== rows) return { ok: false, message: `inputs disagree on the batch size (${rows} and ${r})` };
    rows = r;
    byName.set(name, { name, datatype: spec.datatype, shape: shape as number[], data: flat });
  }
  const missing = sig.inputs.filter((s) => !byName.has(s.name)).map((s) => s.name);
  if (missing.length > 0) return { ok: false, message: `missing input ${missing.map((m) => `'${m}'`).join(', ')}` };
  if (rows === undefined || rows < 1) return { ok: false, message: 'the batch dimension (shape[0]) must be at least 1' };
  if (rows > maxRows) return { ok: false, message: `a request holds at most ${maxRows} rows, this one ${rows}` };
  let outputs: string[] | undefined;
  if (b.outputs !== undefined) {
    if (!Array.isArray(b.outputs)) return { ok: false, message: 'outputs must be a list of {name}' };
    outputs = [];
    for (const [i, o] of b.outputs.entries()) {
      if (!isObject(o) || typeof o.name !== 'string') return { ok: false, message: `outputs[${i}] must be an object {name}` };
      if (!sig.outputs.some((s) => s.name === o.name)) return { ok: false, message: `unexpected output '${o.name}' (the model gives ${sig.outputs.map((s) => s.name).join(', ')})` };
      outputs.push(o.name);
    }
  }
  return { ok: true, id: b.id as string | undefined, inputs: sig.inputs.map((s) => byName.get(s.name)!), outputs, priority, timeoutMs, rows };
}

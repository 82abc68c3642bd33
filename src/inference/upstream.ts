// Why: a replica that is another Open Inference Protocol v2 server (Triton, KServe, Ray Serve, or another
// hotpath): the batch goes to its /v2 infer endpoint over undici (one keep-alive pool per origin), and
// its answer is checked before the batcher cuts it back per request: every output the model declares,
// with one row per row sent. A refusal, a wrong answer or no answer within the time limit fails the
// batch (the runner retries it once on another replica).
import { Agent, request } from 'undici';
import type { CostCurve } from './cost.ts';
import type { Replica } from './replica.ts';
import type { TensorSpec } from './oip.ts';
import type { Tensor } from './tensors.ts';

export interface UpstreamOptions {
  id: string;
  /** The server's base URL, e.g. http://triton.ml.svc:8000 */
  url: string;
  model: string;
  version?: string;
  outputs: readonly TensorSpec[];
  costMs: CostCurve;
  timeoutMs: number;
  agent: Agent;
}

export class UpstreamReplica implements Replica {
  readonly id: string;
  readonly costMs: CostCurve;
  private readonly o: UpstreamOptions;
  private readonly endpoint: string;

  constructor(o: UpstreamOptions) {
    this.o = o;
    this.id = o.id;
    this.costMs = o.costMs;
    const base = o.url.replace(/\/+$/, '');
    this.endpoint = `${base}/v2/models/${encodeURIComponent(o.model)}${o.version !== undefined ? `/versions/${encodeURIComponent(o.version)}` : ''}/infer`;
  }

  async infer(inputs: Tensor[], signal: AbortSignal): Promise<Tensor[]> {
    const rows = inputs[0]?.shape[0] ?? 0;
    const res = await request(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs, outputs: this.o.outputs.map((t) => ({ name: t.name })) }),
      dispatcher: this.o.agent,
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
    });
    const text = await res.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${this.endpoint} answered ${res.statusCode} with a body that is not JSON`);
    }
    if (res.statusCode !== 200) {
      const message = typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : text.slice(0, 200);
      throw new Error(`${this.endpoint} answered ${res.statusCode}: ${message}`);
    }
    const outputs = (body as { outputs?: unknown }).outputs;
    if (!Array.isArray(outputs)) throw new Error(`${this.endpoint} answered without outputs`);
    return this.o.outputs.map((spec) => {
      const t = outputs.find((o) => (o as { name?: unknown })?.name === spec.name) as Tensor | undefined;
      if (t === undefined) throw new Error(`${this.endpoint} answered without output '${spec.name}'`);
      const shape = t.shape;
      if (!Array.isArray(shape) || shape[0] !== rows || !Array.isArray(t.data) || t.data.length !== shape.reduce((n: number, d: number) => n * d, 1)) {
        throw new Error(`${this.endpoint}: output '${spec.name}' has shape ${JSON.stringify(shape)} and ${Array.isArray(t.data) ? t.data.length : 'no'} values for a batch of ${rows} rows`);
      }
      return { name: spec.name, datatype: t.datatype ?? spec.datatype, shape, data: t.data };
    });
  }
}

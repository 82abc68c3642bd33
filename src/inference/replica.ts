// Why: what the batcher sends batches to. A replica runs one batch at a time and says what it costs;
// the built-in simulated K80 replica (the embedded default) takes the time the published K80 ResNet-50
// table gives for the batch (divided by its device share) and answers with a fixed linear layer of its
// input, so a test can check every row's answer came back to the request that sent it.
import { K80_RESNET50_IMAGES_PER_S, tableCost, type CostCurve } from './cost.ts';
import { rowWidth, type Tensor } from './tensors.ts';

export interface Replica {
  readonly id: string;
  /** The prior cost of a batch of `rows` on it, ms (the runner refines it from measurements). */
  readonly costMs: CostCurve;
  infer(inputs: Tensor[], signal: AbortSignal): Promise<Tensor[]>;
}

/** The simulated model's signature: `input` FP32 [-1, 8] -> `scores` FP32 [-1, 4]. */
export const SIMULATED_INPUT = { name: 'input', datatype: 'FP32', shape: [-1, 8] } as const;
export const SIMULATED_OUTPUT = { name: 'scores', datatype: 'FP32', shape: [-1, 4] } as const;

/** The simulated layer: scores[j] = sum_i w(i, j) x[i], with small integer weights. */
export function simulatedScores(row: readonly number[]): number[] {
  return Array.from({ length: 4 }, (_, j) => row.reduce((s, x, i) => s + (((i + 1) * (j + 2)) % 7 - 3) * x, 0));
}

export class SimulatedK80Replica implements Replica {
  readonly id: string;
  readonly costMs: CostCurve;
  readonly batches: number[] = [];

  constructor(id: string, deviceShare = 1, costMs?: CostCurve) {
    this.id = id;
    this.costMs = costMs ?? tableCost(K80_RESNET50_IMAGES_PER_S, deviceShare);
  }

  async infer(inputs: Tensor[], signal: AbortSignal): Promise<Tensor[]> {
    const input = inputs.find((t) => t.name === SIMULATED_INPUT.name);
    if (input === undefined || input.datatype !== 'FP32' || rowWidth(input) !== 8) throw new Error(`the simulated model takes ${SIMULATED_INPUT.name} FP32 [-1, 8]`);
    const rows = input.shape[0]!;
    this.batches.push(rows);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.costMs(rows));
      signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
    const data: number[] = [];
    for (let r = 0; r < rows; r++) data.push(...simulatedScores(input.data.slice(r * 8, r * 8 + 8) as number[]));
    return [{ name: SIMULATED_OUTPUT.name, datatype: 'FP32', shape: [rows, 4], data }];
  }
}

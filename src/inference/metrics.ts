// Why: the /v2 door's metrics on the app's registry. Label values come from closed sets: model names from
// the configuration, results from the runner's outcomes.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const INFERENCE_RESULTS = ['ok', 'bad_request', 'queue_full', 'timeout', 'replica_failed', 'closed'] as const;
export type InferenceResult = (typeof INFERENCE_RESULTS)[number];

export function createInferenceMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'hotpath_inference_requests_total', help: 'Inference requests answered, by model and result (ok, bad_request, queue_full, timeout, replica_failed, closed)', labelNames: ['model', 'result'] as const, registers }),
    queueSeconds: new Histogram({ name: 'hotpath_inference_queue_seconds', help: 'Time from arrival to the dispatch of a request\'s first part, by model', labelNames: ['model'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers }),
    executionSeconds: new Histogram({ name: 'hotpath_inference_execution_seconds', help: 'Execution time of a batch on a replica, by model', labelNames: ['model'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers }),
    batchRows: new Histogram({ name: 'hotpath_inference_batch_rows', help: 'Rows per batch sent to a replica, by model', labelNames: ['model'] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers }),
    replicas: new Gauge({ name: 'hotpath_inference_replicas', help: 'Replicas serving each model', labelNames: ['model'] as const, registers }),
  };
}

export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;

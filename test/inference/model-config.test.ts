// Why: HOTPATH_INFERENCE_MODELS is read once at start; a bad value must stop hotpath with a message that
// names the model and the field, and the defaults must be Triton's.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_JSON, parseModels } from '../../src/inference/model-config.ts';
import { loadConfig } from '../../src/shared/config.ts';

describe('parseModels', () => {
  it('the embedded default: resnet50 on two simulated K80s, SLO-aware, Triton-like queue defaults', () => {
    const [m] = parseModels(DEFAULT_MODELS_JSON);
    expect(m).toMatchObject({ name: 'resnet50', version: '1', batching: 'slo-aware', sloP99Ms: 300, replicas: { kind: 'simulated', count: 2, deviceShare: 1 } });
    expect(m!.queue).toMatchObject({ maxBatchSize: 32, priorityLevels: 2, defaultPriorityLevel: 2, defaultPolicy: { timeoutAction: 'reject', defaultTimeoutMs: 0, allowTimeoutOverride: true, maxQueueSize: 0 } });
    expect(m!.signature.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 8] }]);
  });

  it('reads per-level queue policies and an upstream model with its signature', () => {
    const [m] = parseModels(JSON.stringify({
      vit: {
        batching: 'fixed', maxQueueDelayMs: 5, preferredBatchSizes: [4, 8], maxBatchSize: 8, priorityLevels: 3, defaultPriorityLevel: 2,
        priorityQueuePolicy: { 1: { maxQueueSize: 10, timeoutAction: 'delay', defaultTimeoutMs: 50 } },
        replicas: { upstream: { urls: ['http://triton-0:8000', 'http://triton-1:8000'], model: 'vit_b16', deviceShare: 0.5 } },
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
      },
    }));
    expect(m!.queue.policies[0]).toEqual({ timeoutAction: 'delay', defaultTimeoutMs: 50, allowTimeoutOverride: true, maxQueueSize: 10 });
    expect(m!.queue.policies[1]).toEqual(m!.queue.defaultPolicy);
    expect(m!.replicas).toEqual({ kind: 'upstream', urls: ['http://triton-0:8000', 'http://triton-1:8000'], model: 'vit_b16', deviceShare: 0.5, timeoutMs: 30_000 });
    expect(m!.signature.outputs[0]!.shape).toEqual([-1, 1000]);
  });

  it('GPU-backed replicas need the GPU service', () => {
    const models = JSON.stringify({ m: { batching: 'none', replicas: { simulated: { deviceShare: 0.25 } }, gpu: { tenant: 'serve', gpuMemoryMiB: 2048 } } });
    expect(() => loadConfig({ HOTPATH_INFERENCE_MODELS: models, HOTPATH_GPU_ENABLED: 'false' })).toThrow(/m\.gpu places its replicas as GPU jobs, which needs HOTPATH_GPU_ENABLED=true/);
    expect(loadConfig({ HOTPATH_INFERENCE_MODELS: models }).inferenceModels[0]!.gpu).toEqual({ tenant: 'serve', gpuMemoryMiB: 2048, priority: 0, preemptible: false });
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['a list', '[]', /expected an object/],
    ['a bad model name', JSON.stringify({ 'a b': {} }), /model name "a b"/],
    ['an unknown field', JSON.stringify({ m: { maxBatch: 8, replicas: { simulated: {} } } }), /m has unknown fields maxBatch/],
    ['maxBatchSize 0', JSON.stringify({ m: { maxBatchSize: 0, replicas: { simulated: {} } } }), /m\.maxBatchSize must be an integer 1\.\.4096/],
    ['a preferred size over the maximum', JSON.stringify({ m: { maxBatchSize: 8, preferredBatchSizes: [16], batching: 'fixed', replicas: { simulated: {} } } }), /preferredBatchSizes/],
    ['the default level outside the levels', JSON.stringify({ m: { priorityLevels: 2, defaultPriorityLevel: 3, replicas: { simulated: {} }, sloP99Ms: 100 } }), /defaultPriorityLevel must be an integer 1\.\.2/],
    ['SLO-aware without an SLO', JSON.stringify({ m: { replicas: { simulated: {} } } }), /m\.sloP99Ms is required with batching slo-aware/],
    ['an unknown policy', JSON.stringify({ m: { batching: 'greedy', replicas: { simulated: {} } } }), /batching must be/],
    ['a bad timeout action', JSON.stringify({ m: { batching: 'none', defaultQueuePolicy: { timeoutAction: 'drop' }, replicas: { simulated: {} } } }), /timeoutAction/],
    ['a queue policy for a level that does not exist', JSON.stringify({ m: { batching: 'none', priorityQueuePolicy: { 5: {} }, replicas: { simulated: {} } } }), /has level 5/],
    ['no replicas', JSON.stringify({ m: { batching: 'none' } }), /m\.replicas must be/],
    ['a device share of 0', JSON.stringify({ m: { batching: 'none', replicas: { simulated: { deviceShare: 0 } } } }), /deviceShare must be in \(0, 1\]/],
    ['an upstream URL that is not http', JSON.stringify({ m: { batching: 'none', replicas: { upstream: { urls: ['ftp://x'] } }, inputs: [{ name: 'a', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'b', datatype: 'FP32', shape: [-1, 1] }] } }), /ftp:\/\/x" is not an http\(s\) URL/],
    ['an upstream model without its signature', JSON.stringify({ m: { batching: 'none', replicas: { upstream: { urls: ['http://x'] } } } }), /m\.inputs must be a non-empty list/],
    ['a shape without the batch dimension', JSON.stringify({ m: { batching: 'none', replicas: { upstream: { urls: ['http://x'] } }, inputs: [{ name: 'a', datatype: 'FP32', shape: [2] }], outputs: [{ name: 'b', datatype: 'FP32', shape: [-1] }] } }), /must start with -1/],
    ['a GPU ask without a tenant', JSON.stringify({ m: { batching: 'none', replicas: { simulated: {} }, gpu: { gpuMemoryMiB: 10 } } }), /m\.gpu must be/],
    ['a simulated model given a signature', JSON.stringify({ m: { batching: 'none', replicas: { simulated: {} }, inputs: [] } }), /simulated model has its own inputs/],
  ])('refuses %s', (_what, text, message) => expect(() => parseModels(text)).toThrow(message));
});

// Why: the Grafana dashboards as code, in Grafana's dashboard JSON model (schemaVersion 39), one source for
// both charts. Kept to plain objects rather than @grafana/grafana-foundation-sdk: the few panel kinds used
// here are simple, and the generated JSON is what a test scans (every metric named must be one hotpath
// exports) and what operators can import by hand.

interface Target {
  expr: string;
  legend?: string;
}
interface PanelSpec {
  title: string;
  type: 'timeseries' | 'stat' | 'bargauge' | 'gauge';
  targets: Target[];
  unit?: string;
  w?: number;
  h?: number;
  /** Threshold steps: [value, colour] after the base colour. */
  thresholds?: [number, string][];
  baseColor?: string;
  max?: number;
  description?: string;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function dashboard(uid: string, title: string, rows: { title: string; panels: PanelSpec[] }[]): object {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowH = 0;
    for (const p of row.panels) {
      const w = p.w ?? 8;
      const h = p.h ?? 8;
      if (x + w > 24) {
        x = 0;
        y += rowH;
        rowH = 0;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        ...(p.description !== undefined ? { description: p.description } : {}),
        datasource: DATASOURCE,
        gridPos: { x, y, w, h },
        fieldConfig: {
          defaults: {
            unit: p.unit ?? 'short',
            ...(p.max !== undefined ? { min: 0, max: p.max } : {}),
            thresholds: {
              mode: 'absolute',
              steps: [{ color: p.baseColor ?? 'green', value: null }, ...(p.thresholds ?? []).map(([value, color]) => ({ color, value }))],
            },
          },
          overrides: [],
        },
        options: p.type === 'bargauge' ? { orientation: 'horizontal', displayMode: 'basic', showUnfilled: true } : {},
        targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend ?? '__auto' })),
      });
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  return {
    uid,
    title,
    tags: ['hotpath', '254carbon'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    annotations: { list: [] },
    panels,
  };
}

const rate = (m: string, by = '') => `sum${by ? ` by (${by})` : ''}(rate(${m}[5m]))`;

export const CACHE_DASHBOARD = dashboard('hotpath-cache', 'hotpath: query cache', [
  {
    title: 'Answers',
    panels: [
      { title: 'Hit ratio', type: 'stat', unit: 'percentunit', max: 1, baseColor: 'red', thresholds: [[0.25, 'orange'], [0.6, 'green']], targets: [{ expr: 'hotpath:query_hit_ratio:rate10m' }] },
      { title: 'Queries by result', type: 'timeseries', unit: 'reqps', w: 16, targets: [{ expr: rate('hotpath_query_requests_total', 'result'), legend: '{{result}}' }] },
      { title: 'Hits by tier', type: 'timeseries', unit: 'reqps', targets: [{ expr: rate('hotpath_cache_tier_hits_total', 'tier'), legend: '{{tier}}' }] },
      { title: 'Bypasses and errors by reason', type: 'timeseries', unit: 'reqps', targets: [{ expr: `sum by (result, reason) (rate(hotpath_query_requests_total{result=~"bypass|error"}[5m]))`, legend: '{{result}} {{reason}}' }] },
      { title: 'Single-flight: queries that waited for an identical one', type: 'timeseries', unit: 'reqps', targets: [{ expr: rate('hotpath_cache_collapsed_waiters_total') }] },
    ],
  },
  {
    title: 'Latency',
    panels: [
      { title: 'Hit latency p50 / p99 by tier', type: 'timeseries', unit: 's', w: 12, targets: [
        { expr: 'histogram_quantile(0.5, sum by (le, tier) (rate(hotpath_cache_hit_seconds_bucket[5m])))', legend: 'p50 {{tier}}' },
        { expr: 'histogram_quantile(0.99, sum by (le, tier) (rate(hotpath_cache_hit_seconds_bucket[5m])))', legend: 'p99 {{tier}}' },
      ] },
      { title: 'Miss (engine) latency p50 / p99', type: 'timeseries', unit: 's', w: 12, targets: [
        { expr: 'histogram_quantile(0.5, sum by (le, engine) (rate(hotpath_engine_execution_seconds_bucket[5m])))', legend: 'p50 {{engine}}' },
        { expr: 'histogram_quantile(0.99, sum by (le, engine) (rate(hotpath_engine_execution_seconds_bucket[5m])))', legend: 'p99 {{engine}}' },
      ] },
    ],
  },
  {
    title: 'Storage and admission',
    panels: [
      { title: 'Bytes stored in Redis', type: 'timeseries', unit: 'Bps', targets: [{ expr: rate('hotpath_cache_stored_bytes_total') }] },
      { title: 'L1 bytes per replica', type: 'timeseries', unit: 'bytes', targets: [{ expr: 'hotpath_cache_l1_bytes', legend: '{{instance}}' }] },
      { title: 'Redis available / invalidation channel up', type: 'timeseries', unit: 'bool', targets: [{ expr: 'min(hotpath_cache_redis_available)', legend: 'redis' }, { expr: 'min(hotpath_cache_invalidation_channel_up)', legend: 'invalidation channel' }] },
      { title: 'Admission queue (share of capacity)', type: 'timeseries', unit: 'percentunit', max: 1, targets: [{ expr: 'max by (instance) (hotpath_admission_queue_depth / hotpath_admission_queue_capacity)', legend: '{{instance}}' }] },
      { title: 'Engine executions running (share of slots)', type: 'timeseries', unit: 'percentunit', max: 1, targets: [{ expr: 'max by (instance) (hotpath_admission_running / hotpath_admission_running_capacity)', legend: '{{instance}}' }] },
      { title: 'Invalidations by kind', type: 'timeseries', unit: 'reqps', targets: [{ expr: rate('hotpath_cache_invalidations_total', 'kind'), legend: '{{kind}}' }] },
    ],
  },
]);

export const GPU_DASHBOARD = dashboard('hotpath-gpu', 'hotpath: GPU scheduler', [
  {
    title: 'Devices',
    panels: [
      { title: 'Allocation', type: 'gauge', unit: 'percentunit', max: 1, w: 6, baseColor: 'red', thresholds: [[0.6, 'orange'], [0.9, 'green']], targets: [{ expr: 'max(hotpath_gpu_allocation_ratio)' }] },
      { title: 'Fragmentation', type: 'gauge', unit: 'percentunit', max: 1, w: 6, thresholds: [[0.1, 'orange'], [0.25, 'red']], targets: [{ expr: 'max(hotpath_gpu_fragmentation_ratio)' }] },
      { title: 'Jobs holding GPUs / waiting', type: 'timeseries', w: 12, targets: [{ expr: 'max(hotpath_gpu_live_jobs)', legend: 'holding' }, { expr: 'max(sum by (instance) (hotpath_gpu_queue_depth))', legend: 'waiting' }] },
      { title: 'Board view: each device\'s compute allocated (K80 boards are device pairs)', type: 'bargauge', unit: 'percentunit', max: 1, w: 12, h: 14, targets: [{ expr: 'max by (node, board, gpu) (hotpath_gpu_device_allocated_ratio)', legend: '{{node}} board {{board}} gpu {{gpu}}' }] },
      { title: 'Board view: each device\'s memory allocated', type: 'bargauge', unit: 'bytes', w: 12, h: 14, targets: [{ expr: 'max by (node, board, gpu) (hotpath_gpu_device_allocated_memory_bytes)', legend: '{{node}} board {{board}} gpu {{gpu}}' }] },
    ],
  },
  {
    title: 'Queue',
    panels: [
      { title: 'Waiting by tenant and priority', type: 'timeseries', w: 12, targets: [{ expr: 'max by (tenant, priority) (hotpath_gpu_queue_depth)', legend: '{{tenant}} p{{priority}}' }] },
      { title: 'Queue wait p50 / p95 by priority', type: 'timeseries', unit: 's', w: 12, targets: [
        { expr: 'histogram_quantile(0.5, sum by (le, priority) (rate(hotpath_gpu_wait_seconds_bucket[15m])))', legend: 'p50 {{priority}}' },
        { expr: 'histogram_quantile(0.95, sum by (le, priority) (rate(hotpath_gpu_wait_seconds_bucket[15m])))', legend: 'p95 {{priority}}' },
      ] },
      { title: 'Placements and preemptions', type: 'timeseries', unit: 'ops', targets: [{ expr: rate('hotpath_gpu_placements_total'), legend: 'placed' }, { expr: rate('hotpath_gpu_preemptions_total'), legend: 'preempted' }] },
      { title: 'Leases run out and refused decisions', type: 'timeseries', unit: 'ops', targets: [{ expr: rate('hotpath_gpu_lease_expirations_total', 'outcome'), legend: 'lease out: {{outcome}}' }, { expr: rate('hotpath_gpu_refused_decisions_total'), legend: 'refused' }] },
      { title: 'Leader and round time', type: 'timeseries', unit: 's', targets: [
        { expr: 'histogram_quantile(0.99, sum by (le) (rate(hotpath_gpu_schedule_attempt_seconds_bucket[5m])))', legend: 'round p99' },
        { expr: 'sum(hotpath_gpu_scheduler_leader)', legend: 'leaders (must be 1)' },
      ] },
    ],
  },
]);

export const PLATFORM_DASHBOARD = dashboard('platform-targets', '254Carbon: platform targets', [
  {
    title: 'Targets',
    panels: [
      { title: 'Query p50 (target < 100 ms)', type: 'stat', unit: 's', w: 6, thresholds: [[0.1, 'red']], targets: [{ expr: 'hotpath:http_request_duration_seconds:p50_5m' }] },
      { title: 'GPU allocation (target >= 90 %)', type: 'stat', unit: 'percentunit', w: 6, baseColor: 'red', thresholds: [[0.9, 'green']], targets: [{ expr: 'max(hotpath_gpu_allocation_ratio)' }] },
      { title: 'Cache hit ratio', type: 'stat', unit: 'percentunit', w: 6, baseColor: 'red', thresholds: [[0.25, 'orange'], [0.6, 'green']], targets: [{ expr: 'hotpath:query_hit_ratio:rate10m' }] },
      { title: 'Replicas up', type: 'stat', w: 6, baseColor: 'red', thresholds: [[2, 'green']], targets: [{ expr: 'sum(up{job="hotpath"})' }] },
      { title: 'Query latency p50 / p99 by door', type: 'timeseries', unit: 's', w: 12, thresholds: [[0.1, 'red']], targets: [
        { expr: 'histogram_quantile(0.5, sum by (le, door) (rate(hotpath_http_request_duration_seconds_bucket{door=~"json|trino"}[5m])))', legend: 'p50 {{door}}' },
        { expr: 'histogram_quantile(0.99, sum by (le, door) (rate(hotpath_http_request_duration_seconds_bucket{door=~"json|trino"}[5m])))', legend: 'p99 {{door}}' },
      ] },
      { title: 'GPU allocation over time', type: 'timeseries', unit: 'percentunit', max: 1, w: 12, thresholds: [[0.9, 'green']], baseColor: 'red', targets: [{ expr: 'max(hotpath_gpu_allocation_ratio)' }] },
    ],
  },
]);

// Why: hotpath's alert and recording rules as data, one source for both charts (helm/hotpath's
// PrometheusRule, helm/monitoring's rule files for a Prometheus-compatible server such as VictoriaMetrics'
// vmalert). `npm run charts:generate` writes them out; promtool checks them and runs their unit tests
// (rules.test.yaml beside the generated file); a test checks every metric they name is one hotpath exports.

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

/** A replica's series carry `instance` (and `pod`); cluster-wide GPU gauges are the same on every replica, so take the max. */
export const HOTPATH_RULES: RuleGroup[] = [
  {
    name: 'hotpath.recording',
    rules: [
      {
        record: 'hotpath:query_hit_ratio:rate10m',
        expr: 'sum(rate(hotpath_query_requests_total{result=~"hit|stale"}[10m])) / sum(rate(hotpath_query_requests_total[10m]))',
      },
      {
        record: 'hotpath:query_requests:rate10m',
        expr: 'sum(rate(hotpath_query_requests_total[10m]))',
      },
      {
        record: 'hotpath:http_request_duration_seconds:p50_5m',
        expr: 'histogram_quantile(0.5, sum by (le) (rate(hotpath_http_request_duration_seconds_bucket{door=~"json|trino"}[5m])))',
      },
      {
        record: 'hotpath:gpu_wait_seconds:p95_15m',
        expr: 'histogram_quantile(0.95, sum by (le) (rate(hotpath_gpu_wait_seconds_bucket[15m])))',
      },
    ],
  },
  {
    name: 'hotpath.alerts',
    rules: [
      {
        alert: 'HotpathDown',
        expr: 'sum(up{job="hotpath"}) == 0 or absent(up{job="hotpath"})',
        for: '2m',
        labels: { severity: 'critical' },
        annotations: { summary: 'No hotpath replica answers scrapes', description: 'Every hotpath target is down (or none is discovered) for 2 minutes: queries and GPU scheduling are stopped.' },
      },
      {
        alert: 'HotpathCacheHitRatioCollapse',
        expr: 'hotpath:query_hit_ratio:rate10m < 0.25 and hotpath:query_requests:rate10m > 0.1',
        for: '15m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Cache hit ratio below 25 %', description: 'Only {{ $value | humanizePercentage }} of queries were answered from the cache over 10 minutes while traffic flows: Trino takes the load (check invalidation storms, TTL rules, Redis).' },
      },
      {
        alert: 'HotpathRedisUnavailable',
        expr: 'min by (instance) (hotpath_cache_redis_available) == 0',
        for: '1m',
        labels: { severity: 'critical' },
        annotations: { summary: 'Redis unreachable from {{ $labels.instance }}', description: 'The replica serves without its shared cache (every query goes to Trino) and GPU scheduling stops (the job store is in Redis).' },
      },
      {
        alert: 'HotpathInvalidationChannelStale',
        expr: 'max by (instance) (1 - hotpath_cache_invalidation_channel_up) == 1 or increase(hotpath_cache_invalidation_channel_lapses_total[15m]) > 3',
        for: '2m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Invalidation channel silent on {{ $labels.instance }}', description: 'The replica cannot prove its invalidation subscription is alive: its L1 is off (hits come from Redis, slower) until the channel heals.' },
      },
      {
        alert: 'HotpathAdmissionQueueSaturated',
        expr: 'max by (instance) (hotpath_admission_queue_depth / hotpath_admission_queue_capacity) > 0.8',
        for: '5m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Admission queue over 80 % full on {{ $labels.instance }}', description: 'Queries wait for engine slots ({{ $value | humanizePercentage }} of HOTPATH_MAX_QUEUED); past it they get 429. Trino is slow or HOTPATH_MAX_CONCURRENT_EXECUTIONS is low.' },
      },
      {
        alert: 'HotpathGpuAllocationLowWhileJobsWait',
        expr: 'max(hotpath_gpu_allocation_ratio) < 0.9 and max(sum by (instance) (hotpath_gpu_queue_depth)) > 0',
        for: '15m',
        labels: { severity: 'warning' },
        annotations: { summary: 'GPUs below 90 % allocated while jobs wait', description: 'Allocation is {{ $value | humanizePercentage }} with jobs queued for 15 minutes: the waiting jobs do not fit (fragmentation, quotas, node selectors); see /v1/gpu/cluster and the blocked reasons.' },
      },
      {
        alert: 'HotpathGpuQueueWaitHigh',
        expr: 'hotpath:gpu_wait_seconds:p95_15m > 900',
        for: '15m',
        labels: { severity: 'warning' },
        annotations: { summary: 'GPU queue wait p95 above 15 minutes', description: 'Placed jobs waited {{ $value | humanizeDuration }} (p95 over 15 minutes).' },
      },
      {
        alert: 'HotpathGpuLeaderFlapping',
        expr: 'sum(changes(hotpath_gpu_scheduler_leader[15m])) > 4',
        labels: { severity: 'warning' },
        annotations: { summary: 'GPU scheduler leadership changed {{ $value }} times in 15 minutes', description: 'Replicas keep losing the election (Redis or API server latency, pods restarting): rounds are lost at each change.' },
      },
      {
        alert: 'HotpathGpuNoLeader',
        expr: 'sum(hotpath_gpu_scheduler_leader) != 1',
        for: '2m',
        labels: { severity: 'critical' },
        annotations: { summary: '{{ $value }} GPU scheduler leaders', description: 'No replica (or more than one reports that it) schedules GPU jobs; nothing is placed while none leads (fencing keeps two from placing).' },
      },
    ],
  },
];

/** The platform's targets (the mission: query p50 < 100 ms, GPU allocation >= 90 %), for helm/monitoring. */
export const PLATFORM_RULES: RuleGroup[] = [
  {
    name: 'platform.targets',
    rules: [
      {
        alert: 'PlatformQueryLatencyAboveTarget',
        expr: 'hotpath:http_request_duration_seconds:p50_5m > 0.1',
        for: '30m',
        labels: { severity: 'warning', target: 'query-p50' },
        annotations: { summary: 'Query p50 {{ $value | humanizeDuration }}, target < 100 ms', description: 'Median time to answer queries through hotpath (JSON and Trino doors) over 5 minutes has been above the platform target for 30 minutes.' },
      },
      {
        alert: 'PlatformGpuAllocationBelowTarget',
        expr: 'max(hotpath_gpu_allocation_ratio) < 0.9',
        for: '6h',
        labels: { severity: 'info', target: 'gpu-allocation' },
        annotations: { summary: 'GPU allocation {{ $value | humanizePercentage }}, target >= 90 %', description: 'The K80s have been below the platform allocation target for 6 hours (idle capacity, not necessarily waiting work).' },
      },
    ],
  },
];

// Why: `bench:placement --csv` writes our per-seed allocation curves in the shape of the FGD authors'
// fgd-expected-results/analysis_allo_discrete.csv (same columns, same order), so the two files can be
// compared column by column.
//
// Columns and how we fill them:
// - workload: the authors' file stem, `openb_pod_list_<trace>`.
// - sc_policy: the authors' label where we run the same policy (best-fit -> 05-BestFit, fgd -> 06-FGD);
//   a policy they did not run (first-fit) keeps our own name.
// - tune: always 1.3. Not recorded by runTrial; it is the inflation ratio the protocol fixes
//   (BENCHMARKS.md §2 step 3, prepareWorkload's default), the same value the authors' rows carry.
// - seed, total_gpus (GPUs in the cluster; 6212 on the Alibaba trace).
// - 0..130: allocation % (of all GPU) by arrived %, 2 decimals; an empty cell where a bucket got no
//   sample (the authors' file has none empty).

export const CSV_MAX_ARRIVED_PCT = 130;

const AUTHOR_POLICY_LABEL: Record<string, string> = { 'best-fit': '05-BestFit', fgd: '06-FGD' };

export interface CsvTrialRow {
  trace: string;
  policy: string;
  seed: number;
  /** Allocation % by arrived %, index 0..130, NaN where no sample. */
  allocationPctByArrived: readonly number[];
}

export function placementCsvHeader(): string {
  const arrivedPcts = Array.from({ length: CSV_MAX_ARRIVED_PCT + 1 }, (_, pct) => String(pct));
  return ['workload', 'sc_policy', 'tune', 'seed', 'total_gpus', ...arrivedPcts].join(',');
}

export function placementCsvRow(row: CsvTrialRow, totalGpus: number): string {
  const cells = Array.from({ length: CSV_MAX_ARRIVED_PCT + 1 }, (_, pct) => {
    const v = row.allocationPctByArrived[pct];
    return v === undefined || Number.isNaN(v) ? '' : v.toFixed(2);
  });
  const policy = AUTHOR_POLICY_LABEL[row.policy] ?? row.policy;
  return [`openb_pod_list_${row.trace}`, policy, '1.3', String(row.seed), String(totalGpus), ...cells].join(',');
}

/** The whole file: header, one line per (trace, policy, seed), trailing newline. */
export function placementCsv(rows: readonly CsvTrialRow[], totalGpus: number): string {
  return [placementCsvHeader(), ...rows.map((r) => placementCsvRow(r, totalGpus))].join('\n') + '\n';
}

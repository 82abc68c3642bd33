// Why: the FGD paper's published figures (BENCHMARKS.md §2), to print beside ours and to decide whether
// the harness is trusted (BestFit and FGD within ±0.5 points on the default trace).

/** Unallocated GPU % at 100 % arrived, mean of seeds 42–51, by trace then policy. */
export const PUBLISHED_UNALLOCATED_PCT_AT_100: Record<string, Record<string, number>> = {
  default: { random: 13.7, dotprod: 9.38, clustering: 8.35, packing: 8.22, 'best-fit': 7.14, fgd: 4.77 },
  gpushare40: { random: 15.14, dotprod: 10.7, clustering: 10.24, packing: 10.23, 'best-fit': 8.56, fgd: 6.04 },
  gpushare60: { random: 17.19, dotprod: 13.18, clustering: 13.1, packing: 12.85, 'best-fit': 10.94, fgd: 8.75 },
  gpushare80: { random: 19.38, dotprod: 15.86, clustering: 15.5, packing: 15.35, 'best-fit': 13.34, fgd: 10.92 },
  gpushare100: { random: 21.1, dotprod: 18.02, clustering: 17.78, packing: 17.87, 'best-fit': 15.38, fgd: 13.36 },
  multigpu20: { random: 13.08, dotprod: 8.15, clustering: 6.66, packing: 6.5, 'best-fit': 6.27, fgd: 4.47 },
  multigpu30: { random: 13.37, dotprod: 6.89, clustering: 5.45, packing: 5.3, 'best-fit': 5.43, fgd: 3.64 },
  multigpu40: { random: 14.62, dotprod: 5.96, clustering: 4.65, packing: 4.41, 'best-fit': 4.9, fgd: 3.09 },
  multigpu50: { random: 18.72, dotprod: 5.27, clustering: 4.31, packing: 3.94, 'best-fit': 4.38, fgd: 2.91 },
  gpuspec10: { random: 13.74, dotprod: 9.83, clustering: 8.04, packing: 7.76, 'best-fit': 6.9, fgd: 5.34 },
  gpuspec20: { random: 14.1, dotprod: 11.71, clustering: 10.89, packing: 10.72, 'best-fit': 11.54, fgd: 5.34 },
  gpuspec25: { random: 14.58, dotprod: 14.56, clustering: 13.59, packing: 13.23, 'best-fit': 14.33, fgd: 6.09 },
  gpuspec33: { random: 16.13, dotprod: 20.18, clustering: 18.91, packing: 17.78, 'best-fit': 19.61, fgd: 12.16 },
  cpu050: { random: 10.98, dotprod: 6.97, clustering: 6.48, packing: 6.54, 'best-fit': 6.44, fgd: 5.0 },
  cpu100: { random: 12.56, dotprod: 8.27, clustering: 7.58, packing: 7.5, 'best-fit': 6.74, fgd: 4.79 },
  cpu200: { random: 16.97, dotprod: 12.55, clustering: 10.33, packing: 10.02, 'best-fit': 7.85, fgd: 5.18 },
  cpu250: { random: 20.0, dotprod: 16.43, clustering: 12.25, packing: 11.95, 'best-fit': 8.79, fgd: 6.8 },
};

/** Default trace: unallocated % at 130 % arrived (100 − allocation) and fragment % at 100 %. */
export const PUBLISHED_DEFAULT_EXTRA: Record<string, { unallocatedPctAt130: number; fragmentPctAt100: number }> = {
  'best-fit': { unallocatedPctAt130: 100 - 93.08, fragmentPctAt100: 7.05 },
  fgd: { unallocatedPctAt130: 100 - 95.39, fragmentPctAt100: 4.73 },
};

export const TRUST_TOLERANCE_POINTS = 0.5;

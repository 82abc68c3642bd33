// Why: policies are chosen by name (like the k8s scheduler's scoring strategies); an unknown name fails
// at construction, listing the known ones.
import type { Policy, PolicyContext } from './types.ts';
import { createFirstFit } from './first-fit.ts';
import { createBestFit } from './best-fit.ts';
import { createFgd } from './fgd.ts';
import { createHotpath } from './hotpath.ts';

const factories: Record<string, (ctx: PolicyContext) => Policy> = {
  'first-fit': () => createFirstFit(),
  'best-fit': () => createBestFit(),
  fgd: (ctx) => {
    if (ctx.typicalSpecs === undefined) throw new Error('policy fgd: expected ctx.typicalSpecs (the typical pod specs)');
    return createFgd(ctx.typicalSpecs);
  },
  hotpath: (ctx) => {
    if (ctx.typicalSpecs === undefined) throw new Error('policy hotpath: expected ctx.typicalSpecs (the typical pod specs)');
    return createHotpath(ctx.typicalSpecs);
  },
};

export const policyNames: readonly string[] = Object.keys(factories);

export function createPolicy(name: string, ctx: PolicyContext = {}): Policy {
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
  if (factory === undefined) {
    throw new Error(`unknown placement policy "${name}"; known: ${policyNames.join(', ')}`);
  }
  return factory(ctx);
}

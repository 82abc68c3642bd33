// Why: the running scheduler's FGD-style policy needs "the typical pods" of its cluster, and the
// current queue alone is a poor sample (empty at night, one tenant's burst at noon). The mix remembers
// requests it has seen, each weighing half as much per half-life of age, and forgets them past a
// horizon or a count bound. Pure: the caller passes the time.
import type { PlacementRequest } from '../placement/model.ts';
import type { TypicalSpec } from '../placement/frag.ts';
import { typicalSpecs } from '../placement/typical-specs.ts';

export interface RequestMixOptions {
  halfLifeMs: number;
  /** Requests older than this many half-lives are forgotten (default 8: weight < 0.4 %). */
  horizonHalfLives?: number;
  /** At most this many requests are remembered (the oldest go first). */
  maxRequests?: number;
}

export class RequestMix {
  private readonly o: Required<RequestMixOptions>;
  /** By job id, in first-seen order (Map keeps insertion order). */
  private readonly seen = new Map<string, { request: PlacementRequest; atMs: number }>();
  /**
   * The last answer. Ageing scales every weight by the same factor, which changes no probability
   * nor weighted mean: only a new request or a forgotten one changes the specs.
   */
  private cached: TypicalSpec[] | undefined;

  constructor(opts: RequestMixOptions) {
    if (!(opts.halfLifeMs > 0)) throw new Error('RequestMix: halfLifeMs must be > 0');
    this.o = { horizonHalfLives: 8, maxRequests: 20_000, ...opts };
  }

  /** Remembers a request the first time its job is seen (later sightings change nothing). */
  observe(id: string, request: PlacementRequest, nowMs: number): void {
    if (this.seen.has(id)) return;
    this.seen.set(id, { request, atMs: nowMs });
    this.cached = undefined;
    while (this.seen.size > this.o.maxRequests) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
      this.cached = undefined;
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** The typical specs of the remembered requests, weighted by age; forgets those past the horizon. */
  specs(nowMs: number): TypicalSpec[] {
    // First-seen order is age order: the forgotten ones are at the front.
    const horizonMs = this.o.halfLifeMs * this.o.horizonHalfLives;
    for (const [id, e] of this.seen) {
      if (nowMs - e.atMs <= horizonMs) break;
      this.seen.delete(id);
      this.cached = undefined;
    }
    if (this.cached !== undefined) return this.cached;
    const requests: PlacementRequest[] = [];
    const weights: number[] = [];
    for (const e of this.seen.values()) {
      requests.push(e.request);
      weights.push(0.5 ** (Math.max(0, nowMs - e.atMs) / this.o.halfLifeMs));
    }
    this.cached = typicalSpecs(requests, 95, 1, weights);
    return this.cached;
  }
}

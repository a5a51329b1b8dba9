import type { ApiCall } from '../protocols/contract.ts';

/**
 * Decides which API calls become spans. Kept: every error, every slow call, every forced call, and a baseline
 * fraction of the rest - all under one global token bucket so a storm of errors cannot flood the collector.
 * Interesting calls (forced, error, slow) may use the whole bucket; baseline calls only its upper half, so
 * there is always room for the calls that matter.
 *
 * Slow means over `slowThresholdMs`, or over `baselineFactor` x the resource's latency baseline (an
 * exponentially weighted mean, once `baselineWarmup` calls were seen; errors do not feed it) and at least
 * `slowMinMs`: sub-millisecond calls triple their latency on any scheduling hiccup or GC pause of the
 * observed process, and keeping those filled the span budget with noise (measured: ~3 % of a loaded Node
 * service's calls). Baselines are kept for at most `maxResources` resources (oldest forgotten first).
 *
 * Called only from the event loop. `now` and `random` are injectable for tests.
 */
export interface TraceSamplerConfig {
  slowThresholdMs: number;
  baselineFactor: number;
  /** A call is slow against its baseline only if it also took at least this long. */
  slowMinMs: number;
  baselineWarmup: number;
  /** Weight of the newest call in the latency baseline (0..1). */
  baselineAlpha: number;
  /** Fraction of normal calls kept (0..1). */
  baselineRate: number;
  /** Global limit: spans per second, and the burst the bucket holds. */
  ratePerSecond: number;
  burst: number;
  /** A request header (any case) whose presence (value not `0`/`false`) forces capture. */
  forceHeader: string;
  /** Workloads whose calls are all kept (still under the rate limit). */
  forceWorkloads: string[];
  maxResources: number;
}

export const DEFAULT_SAMPLER_CONFIG: TraceSamplerConfig = {
  slowThresholdMs: 1000,
  baselineFactor: 3,
  slowMinMs: 5,
  baselineWarmup: 20,
  baselineAlpha: 0.05,
  baselineRate: 0.01,
  ratePerSecond: 100,
  burst: 200,
  forceHeader: 'x-understory-trace',
  forceWorkloads: [],
  maxResources: 10_000,
};

export type SampleReason = 'forced' | 'error' | 'slow' | 'baseline';

export interface SamplerCounts {
  kept: Record<SampleReason, number>;
  /** Calls that would have been kept but the rate limit said no. */
  limited: Record<SampleReason, number>;
  notSampled: number;
}

/** Calls that can look one request header up by lower-case name without decoding them all (HTTP/1.x). */
interface HeaderLookup {
  reqHeader?(name: string): string | undefined;
}

interface Baseline {
  meanMs: number;
  n: number;
}

export class TraceSampler {
  private readonly cfg: TraceSamplerConfig;
  private readonly baselines = new Map<string, Baseline>();
  private readonly forceWorkloads: Set<string>;
  private readonly forceHeader: string;
  private tokens: number;
  private lastRefillMs: number;
  readonly counts: SamplerCounts = {
    kept: { forced: 0, error: 0, slow: 0, baseline: 0 },
    limited: { forced: 0, error: 0, slow: 0, baseline: 0 },
    notSampled: 0,
  };

  constructor(
    cfg: Partial<TraceSamplerConfig> = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.cfg = { ...DEFAULT_SAMPLER_CONFIG, ...cfg };
    const c = this.cfg;
    if (!(c.baselineRate >= 0 && c.baselineRate <= 1))
      throw new Error(`cannot configure sampling: baselineRate ${c.baselineRate} is not within 0..1`);
    if (!(c.ratePerSecond > 0 && c.burst >= 1))
      throw new Error('cannot configure sampling: ratePerSecond must be > 0 and burst >= 1');
    if (!(c.baselineAlpha > 0 && c.baselineAlpha <= 1))
      throw new Error(`cannot configure sampling: baselineAlpha ${c.baselineAlpha} is not within (0, 1]`);
    this.forceWorkloads = new Set(c.forceWorkloads);
    this.forceHeader = c.forceHeader.toLowerCase();
    this.tokens = c.burst;
    this.lastRefillMs = this.now();
  }

  /**
   * Why `call` is kept, or undefined. `resourceKey` identifies the baseline (workload + templated resource);
   * `ms` is the call's duration when the caller has it already.
   */
  decide(
    call: ApiCall,
    workload: string,
    resourceKey: string,
    ms = Number(call.endNs - call.startNs) / 1e6,
  ): SampleReason | undefined {
    // One lookup of the baseline for both the verdict and the learning.
    const b = this.baselines.get(resourceKey);
    const reason = this.reasonFor(call, workload, b, ms);
    if (!call.error) this.learn(resourceKey, b, ms);
    if (!reason) {
      this.counts.notSampled++;
      return undefined;
    }
    this.refill();
    const floor = reason === 'baseline' ? this.cfg.burst / 2 : 0;
    if (this.tokens - 1 < floor) {
      this.counts.limited[reason]++;
      return undefined;
    }
    this.tokens--;
    this.counts.kept[reason]++;
    return reason;
  }

  private reasonFor(
    call: ApiCall,
    workload: string,
    b: Baseline | undefined,
    ms: number,
  ): SampleReason | undefined {
    if (this.forceWorkloads.has(workload) || this.forcedByHeader(call)) return 'forced';
    if (call.error) return 'error';
    if (ms >= this.cfg.slowThresholdMs) return 'slow';
    if (
      ms >= this.cfg.slowMinMs &&
      b !== undefined &&
      b.n >= this.cfg.baselineWarmup &&
      ms > this.cfg.baselineFactor * b.meanMs
    )
      return 'slow';
    if (this.cfg.baselineRate > 0 && this.random() < this.cfg.baselineRate) return 'baseline';
    return undefined;
  }

  private forcedByHeader(call: ApiCall): boolean {
    // One header looked up in the raw request where the protocol can (HTTP/1.x): decoding every header of
    // every call only to find this one was a tenth of the pipeline's time.
    const lookup = (call as HeaderLookup).reqHeader;
    if (lookup !== undefined) {
      const v = lookup.call(call, this.forceHeader)?.trim().toLowerCase();
      return v !== undefined && v !== '0' && v !== 'false';
    }
    const h = call.reqHeaders;
    if (!h) return false;
    for (const name in h) {
      if (name.toLowerCase() !== this.forceHeader) continue;
      const v = h[name]!.trim().toLowerCase();
      return v !== '0' && v !== 'false';
    }
    return false;
  }

  private learn(key: string, known: Baseline | undefined, ms: number): void {
    let b = known;
    if (!b) {
      if (this.baselines.size >= this.cfg.maxResources) {
        const oldest = this.baselines.keys().next().value;
        if (oldest !== undefined) this.baselines.delete(oldest);
      }
      b = { meanMs: ms, n: 0 };
      this.baselines.set(key, b);
    }
    // Plain mean while warming up, then exponentially weighted so the baseline follows slow drifts.
    b.n++;
    const w = b.n < 1 / this.cfg.baselineAlpha ? 1 / b.n : this.cfg.baselineAlpha;
    b.meanMs += w * (ms - b.meanMs);
  }

  /** The latency baseline (ms) of a resource, if any. */
  baselineMs(key: string): number | undefined {
    return this.baselines.get(key)?.meanMs;
  }

  private refill(): void {
    const t = this.now();
    const elapsedS = Math.max(0, t - this.lastRefillMs) / 1000;
    this.lastRefillMs = t;
    this.tokens = Math.min(this.cfg.burst, this.tokens + elapsedS * this.cfg.ratePerSecond);
  }
}

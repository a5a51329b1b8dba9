/**
 * The lifecycle every Understory component implements (OpenTelemetry Collector style).
 *
 * - `start()` fails fast on bad configuration; after it resolves the component must not crash the process.
 * - `shutdown()` is safe to call twice and before `start()`; it flushes what was acknowledged.
 * - `health()` answers quickly; the process's `/healthz` aggregates it.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  shutdown(): Promise<void>;
  health(): Promise<HealthStatus>;
}

export interface HealthStatus {
  ok: boolean;
  detail?: string;
}

/** Starts components in order; if one fails, shuts down the ones already started (reverse order). */
export async function startAll(components: readonly Component[]): Promise<void> {
  const started: Component[] = [];
  for (const c of components) {
    try {
      await c.start();
      started.push(c);
    } catch (err) {
      await shutdownAll(started);
      throw new Error(`cannot start ${c.name}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** Shuts down in reverse start order; collects errors instead of stopping at the first. */
export async function shutdownAll(components: readonly Component[]): Promise<void> {
  const errors: string[] = [];
  for (const c of [...components].reverse()) {
    try {
      await c.shutdown();
    } catch (err) {
      errors.push(`${c.name}: ${errorMessage(err)}`);
    }
  }
  if (errors.length > 0) throw new Error(`cannot shut down cleanly: ${errors.join('; ')}`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import type { Component, HealthStatus } from '../../lib/component.ts';
import { migrate } from './migrations.ts';
import type { Retention } from './retention.ts';
import type { ClickhouseStore } from './store.ts';

/**
 * Brings the ClickHouse schema up to date when the process starts (idempotent, so every start runs it), and
 * applies the configured retention. Started after the store and before anything that writes.
 */
export class ClickhouseSchema implements Component {
  readonly name = 'clickhouse-schema';
  private applied = false;

  constructor(
    private readonly store: () => ClickhouseStore,
    private readonly retention: Retention,
  ) {}

  async start(): Promise<void> {
    await migrate(this.store(), { retention: this.retention });
    this.applied = true;
  }

  async shutdown(): Promise<void> {}

  async health(): Promise<HealthStatus> {
    return this.applied ? { ok: true } : { ok: false, detail: 'migrations not applied' };
  }
}

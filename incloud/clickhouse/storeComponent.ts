import type { Component, HealthStatus } from '../../lib/component.ts';
import { ChdbStore } from './chdbStore.ts';

/** The embedded ClickHouse as a component of the in-cluster process: opened first, closed last. */
export class EmbeddedClickhouse implements Component {
  readonly name = 'clickhouse';
  readonly store: ChdbStore;
  private started = false;

  constructor(dataDir: string) {
    this.store = new ChdbStore(dataDir);
  }

  async start(): Promise<void> {
    this.store.open();
    await this.store.ping();
    this.started = true;
  }

  async shutdown(): Promise<void> {
    this.started = false;
    await this.store.close();
  }

  async health(): Promise<HealthStatus> {
    if (!this.started) return { ok: false, detail: 'not started' };
    await this.store.ping();
    return { ok: true, detail: 'chdb' };
  }
}

import { encodeRemoteWrite, postRemoteWrite, type RemoteSeries } from '../ingester/remoteWrite.ts';

/** Where the collector forwards OTLP metrics: the metrics-ingester, in process or over remote write. */
export interface MetricsSink {
  /** Resolves once the ingester has accepted the series; rejects when it cannot (the client retries). */
  write(series: readonly RemoteSeries[]): Promise<void>;
}

/** Forwards to an ingester in another process (`understory collector` beside `understory ingester`). */
export class RemoteWriteSink implements MetricsSink {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
    /** The cluster's ingest token, sent as a bearer token. */
    private readonly token?: string,
  ) {}

  async write(series: readonly RemoteSeries[]): Promise<void> {
    if (series.length === 0) return;
    await postRemoteWrite(this.url, encodeRemoteWrite(series), this.timeoutMs, this.token);
  }
}

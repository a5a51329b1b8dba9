import {
  ADD,
  DELETE,
  ERROR,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  UPDATE,
  Watch,
} from '@kubernetes/client-node';
import { fetch } from 'undici';
import { errorMessage } from '../../lib/component.ts';
import type { Logger } from '../../lib/log.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { KubeRecord } from './records.ts';
import type { WatchedResource } from './resources.ts';

export interface RecordHandler {
  upsert(rec: KubeRecord): void;
  remove(rec: KubeRecord): void;
}

export interface InformerOptions {
  /** Items per list page (`limit`); the rest follows with `continue` tokens. */
  pageSize: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Per-request timeout of list pages. */
  listTimeoutMs: number;
}

export const DEFAULT_INFORMER_OPTIONS: InformerOptions = {
  pageSize: 500,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  listTimeoutMs: 60_000,
};

/** An HTTP error from the API server, with the code ListWatch looks at (410 means: re-list). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/**
 * One resource type: list (paged), then watch from the list's resourceVersion, on client-node's ListWatch.
 *
 * ListWatch brings the cache, the 410 Gone re-list and the watch reconnects; around it we add what it lacks:
 * - a Watch decorator that asks for bookmarks and strips every object before ListWatch caches it;
 * - a paged list (`limit` + `continue`, restarted from scratch when a continue token expires);
 * - restarts with exponential back-off: ListWatch stops for good on any error other than 410/timeout.
 *
 * All callbacks run on the main event loop; `handler` must not throw (a throw is caught and counted).
 */
export class ResourceInformer {
  // ListWatch is typed for full objects; it only reads metadata name/namespace/resourceVersion of ours.
  private readonly informer: ListWatch<KubernetesObject>;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private firstList: { resolve: () => void; promise: Promise<void> };
  /** Objects in the informer cache, counted from its callbacks (listing the cache per event costs O(n)). */
  private cached = 0;
  synced = false;
  lastError: string | undefined;

  constructor(
    private readonly kc: KubeConfig,
    readonly resource: WatchedResource,
    handler: RecordHandler,
    private readonly metrics: WatcherMetrics,
    private readonly log: Logger,
    private readonly opts: InformerOptions = DEFAULT_INFORMER_OPTIONS,
  ) {
    this.backoffMs = opts.backoffInitialMs;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.firstList = { resolve, promise };
    const watch = new StrippingWatch(
      new Watch(kc),
      resource,
      metrics,
      () => {
        this.backoffMs = this.opts.backoffInitialMs;
      },
      () => this.stopped,
    );
    this.informer = new ListWatch<KubernetesObject>(
      resource.path,
      watch as unknown as Watch,
      () => this.listAll() as Promise<KubernetesListObject<KubernetesObject>>,
      false,
    );
    this.informer.on(ADD, (rec) => {
      this.cached++;
      this.safely(() => handler.upsert(rec as KubeRecord));
    });
    this.informer.on(UPDATE, (rec) => this.safely(() => handler.upsert(rec as KubeRecord)));
    this.informer.on(DELETE, (rec) => {
      this.cached--;
      this.safely(() => handler.remove(rec as KubeRecord));
    });
    this.informer.on(ERROR, (err) => this.onError(err));
  }

  /** Starts listing and watching; resolves once (the first list has finished or failed). */
  start(): Promise<void> {
    this.stopped = false;
    this.informer.start().catch((err: unknown) => this.onError(err));
    return this.firstList.promise;
  }

  /** Resolves after the first successful list (the cache is complete), or never if it never succeeds. */
  get listed(): Promise<void> {
    return this.firstList.promise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  size(): number {
    return this.cached;
  }

  list(): readonly KubeRecord[] {
    return this.informer.list() as unknown as readonly KubeRecord[];
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.metrics.invalidObjects.inc({ resource: this.resource.resource });
      this.log.warn({ err: errorMessage(err), resource: this.resource.resource }, 'cannot apply object');
    }
    this.metrics.cachedObjects.set({ resource: this.resource.resource }, this.cached);
  }

  private onError(err: unknown): void {
    this.lastError = errorMessage(err);
    this.metrics.informerErrors.inc({ resource: this.resource.resource });
    // An error before the first list (e.g. credentials that cannot be read) must not hang start().
    this.firstList.resolve();
    if (this.stopped) return;
    const delay = this.backoffMs;
    // Full jitter keeps 12 informers (and many replicas) from hammering a recovering API server in step.
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs);
    this.log.warn(
      { resource: this.resource.resource, err: this.lastError, retryInMs: jittered },
      'informer failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.informer.start().catch((err: unknown) => this.onError(err));
    }, jittered);
    this.restartTimer.unref();
  }

  private async listAll(): Promise<{ metadata: { resourceVersion: string }; items: KubeRecord[] }> {
    const resource = this.resource.resource;
    try {
      const result = await this.listPages();
      this.metrics.lists.inc({ resource });
      this.synced = true;
      this.lastError = undefined;
      this.backoffMs = this.opts.backoffInitialMs;
      this.firstList.resolve();
      return result;
    } catch (err) {
      this.metrics.listErrors.inc({ resource });
      // Let start() resolve even when the first list fails: health() then reports the error.
      this.firstList.resolve();
      throw err;
    }
  }

  private async listPages(): Promise<{ metadata: { resourceVersion: string }; items: KubeRecord[] }> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('cannot list: kubeconfig has no current cluster');
    const items: KubeRecord[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    let restarts = 0;
    for (;;) {
      const url = new URL(cluster.server + this.resource.path);
      url.searchParams.set('limit', String(this.opts.pageSize));
      if (cont) url.searchParams.set('continue', cont);
      const auth = new AuthContext();
      await this.kc.applySecurityAuthentication(auth as never);
      const res = await fetch(url, {
        headers: { ...auth.headers, accept: 'application/json' },
        dispatcher: auth.dispatcher as never,
        signal: AbortSignal.timeout(this.opts.listTimeoutMs),
      });
      if (res.status === 410 && cont && restarts < 3) {
        // The continue token outlived the snapshot it points into: start the list again.
        await res.body?.cancel();
        restarts++;
        items.length = 0;
        cont = undefined;
        continue;
      }
      if (res.status !== 200) {
        const text = await res.text();
        throw new ApiError(
          `cannot list ${this.resource.resource}: HTTP ${res.status}: ${statusMessage(text)}`,
          res.status,
        );
      }
      const page = (await res.json()) as {
        metadata?: { resourceVersion?: string; continue?: string };
        items?: unknown[];
      };
      for (const raw of page.items ?? []) {
        try {
          items.push(this.resource.strip(raw));
        } catch {
          this.metrics.invalidObjects.inc({ resource: this.resource.resource });
        }
      }
      resourceVersion = page.metadata?.resourceVersion ?? '';
      cont = page.metadata?.continue || undefined;
      if (!cont) break;
    }
    return { metadata: { resourceVersion }, items };
  }
}

/** Collects what KubeConfig.applySecurityAuthentication sets (headers, TLS dispatcher) for our own list calls. */
class AuthContext {
  headers: Record<string, string> = {};
  dispatcher: unknown;
  setHeaderParam(key: string, value: string): void {
    this.headers[key] = value;
  }
  setDispatcher(d: unknown): void {
    this.dispatcher = d;
  }
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string; reason?: string };
    return [status.reason, status.message].filter(Boolean).join(': ') || body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/**
 * Wraps client-node's Watch: requests bookmarks and a server-side timeout, and hands ListWatch stripped
 * records instead of full objects, so the informer cache never holds a full object.
 */
class StrippingWatch {
  constructor(
    private readonly inner: Watch,
    private readonly resource: WatchedResource,
    private readonly metrics: WatcherMetrics,
    private readonly onProgress: () => void,
    private readonly isStopped: () => boolean,
  ) {}

  watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // Like client-go: a random 5-10 minute server-side timeout spreads the re-watches of many clients.
    // ListWatch.stop() during a list does not prevent the watch that follows it: refuse it here.
    if (this.isStopped()) {
      const aborted = new AbortController();
      aborted.abort();
      return Promise.resolve(aborted);
    }
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const query = { ...params, allowWatchBookmarks: true, timeoutSeconds };
    return this.inner
      .watch(
        path,
        query,
        (phase, obj) => {
          const resource = this.resource.resource;
          this.metrics.watchEvents.inc({ resource, type: phase });
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
            let rec: KubeRecord;
            try {
              rec = this.resource.strip(obj);
            } catch {
              this.metrics.invalidObjects.inc({ resource });
              return;
            }
            this.onProgress();
            callback(phase, rec);
            return;
          }
          if (phase === 'BOOKMARK') this.onProgress();
          // BOOKMARK carries only metadata.resourceVersion; ERROR carries a Status: both pass through.
          callback(phase, obj);
        },
        done,
      )
      .then((controller) => {
        if (this.isStopped()) controller.abort(); // stopped while the request was being made
        return controller;
      })
      .catch((err: unknown) => {
        // Watch.watch rejects when it cannot even build the request (e.g. credentials unreadable); ListWatch
        // does not await its restart path, so report it through `done` like any other watch failure.
        done(err);
        return new AbortController();
      });
  }
}

/** `--kubeconfig` file, else the pod's service account (in cluster); anything else is a start-up error. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) {
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new Error(`cannot load kubeconfig ${path}: ${(err as Error).message}`, { cause: err });
    }
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new Error(
      'cannot find the Kubernetes API: not in a cluster; pass --kubeconfig or use --plain-host',
    );
  }
  if (!kc.getCurrentCluster()) throw new Error('cannot use kubeconfig: it has no current cluster');
  return kc;
}

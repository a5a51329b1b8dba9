import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  apiVersionOf,
  discoveryDocument,
  FAKE_RESOURCES,
  type FakeResource,
  fakeResource,
} from './fakeResources.ts';

/**
 * A local stand-in for kube-apiserver (none can run here) that speaks its list/watch wire format:
 * - list with a resourceVersion, `limit` + `continue` paging over a consistent snapshot, 410 Expired
 *   for a continue token whose snapshot is gone;
 * - chunked watch streams of `{"type","object"}` JSON lines from a resourceVersion (history replay), or
 *   synthetic ADDED events for rv ""/"0"; BOOKMARK events with `allowWatchBookmarks=true`;
 *   `timeoutSeconds` honoured;
 * - 410 Gone for a compacted resourceVersion, as an ERROR event carrying a Status (the normal case) or as
 *   HTTP 410 (`goneAsHttp`);
 * - 401/403 Status bodies; legacy discovery (`/api`, `/apis`, `/api/v1`, ...) so kubectl works.
 *
 * Objects are stored as given (full JSON); the server assigns uid, resourceVersion, creationTimestamp.
 */
export interface FakeApiServerOptions {
  /** Bearer token clients must send; undefined disables authentication. */
  token?: string;
  /** Resources whose requests get 403 Forbidden. */
  forbidden?: Set<string>;
  /** Interval of BOOKMARK events on watches that allow them; 0 disables periodic bookmarks. */
  bookmarkIntervalMs?: number;
  /** Send 410 as an HTTP status instead of an ERROR watch event. */
  goneAsHttp?: boolean;
  historyLimit?: number;
}

type Obj = {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
} & Record<string, unknown>;
interface HistoryItem {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}
interface OpenWatch {
  resource: FakeResource;
  namespace: string | undefined;
  res: ServerResponse;
  bookmarks: boolean;
  timers: NodeJS.Timeout[];
}

export class FakeApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private rv = 100;
  private compactedRv = 0;
  private readonly store = new Map<string, Map<string, Obj>>();
  private readonly history: HistoryItem[] = [];
  private readonly snapshots = new Map<string, { rv: number; items: Obj[] }>();
  private readonly watches = new Set<OpenWatch>();
  port = 0;
  /** Requests served, by `METHOD path?query`, for assertions on what clients asked. */
  readonly requests: string[] = [];

  constructor(readonly opts: FakeApiServerOptions = {}) {
    for (const r of FAKE_RESOURCES) this.store.set(r.resource, new Map());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  async start(port = this.port): Promise<number> {
    const server = createServer((req, res) => this.route(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stops serving and drops every connection, like a crashed API server. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const w of [...this.watches]) this.endWatch(w);
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stop and start on the same port. `loseHistory` compacts everything so old resourceVersions get 410. */
  async restart(opts: { loseHistory?: boolean; whileDown?: () => void } = {}): Promise<void> {
    await this.stop();
    opts.whileDown?.();
    if (opts.loseHistory) this.compact();
    await this.start(this.port);
  }

  /** Like etcd compaction: watches and continue tokens older than now get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
    this.snapshots.clear();
  }

  /** Ends every open watch stream (what the API server does at a watch's timeout). */
  closeWatches(): void {
    for (const w of [...this.watches]) this.endWatch(w);
  }

  /**
   * Watch expiry: ends every watch, applies `whileDisconnected` with nobody watching, then compacts, so
   * the clients' next watch from their last resourceVersion gets 410 Gone and they must re-list.
   */
  expireWatches(whileDisconnected: () => void = () => {}): void {
    this.closeWatches();
    whileDisconnected();
    this.compact();
  }

  /** Sends a BOOKMARK at the current resourceVersion on every watch that allows them. */
  sendBookmarks(): void {
    for (const w of this.watches) if (w.bookmarks) this.writeBookmark(w);
  }

  upsert(resource: string, input: Record<string, unknown>): Obj {
    const r = fakeResource(resource);
    const obj = structuredClone(input) as Obj;
    if (!obj.metadata?.name) throw new Error('cannot store object: metadata.name is missing');
    const key = this.key(r, obj.metadata.namespace, obj.metadata.name);
    const existing = this.store.get(resource)!.get(key);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata.uid = existing?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
    const meta = obj.metadata as Record<string, unknown>;
    meta.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    delete meta.managedFields;
    obj.metadata.resourceVersion = String(++this.rv);
    this.store.get(resource)!.set(key, obj);
    this.emit({ rv: this.rv, resource, type: existing ? 'MODIFIED' : 'ADDED', object: obj });
    return obj;
  }

  remove(resource: string, namespace: string | undefined, name: string): boolean {
    const r = fakeResource(resource);
    const key = this.key(r, namespace, name);
    const existing = this.store.get(resource)!.get(key);
    if (!existing) return false;
    this.store.get(resource)!.delete(key);
    const obj = structuredClone(existing);
    obj.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, resource, type: 'DELETED', object: obj });
    return true;
  }

  get(resource: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.store.get(resource)!.get(this.key(fakeResource(resource), namespace, name));
  }

  count(resource: string): number {
    return this.store.get(resource)!.size;
  }

  private key(r: FakeResource, namespace: string | undefined, name: string): string {
    return r.namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }

  private emit(item: HistoryItem): void {
    this.history.push(item);
    const limit = this.opts.historyLimit ?? 200_000;
    if (this.history.length > limit) {
      const dropped = this.history.splice(0, this.history.length - limit);
      this.compactedRv = Math.max(this.compactedRv, dropped[dropped.length - 1]!.rv);
    }
    for (const w of this.watches) {
      if (w.resource.resource !== item.resource) continue;
      if (w.namespace && item.object.metadata.namespace !== w.namespace) continue;
      this.writeEvent(w, item.type, item.object);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', 'the fake serves GET only');
    if (url.pathname === '/version') {
      return sendJson(res, 200, {
        major: '1',
        minor: '33',
        gitVersion: 'v1.33.0-understory-fake',
        platform: 'linux/amd64',
      });
    }
    const discovery = discoveryDocument(url.pathname, `127.0.0.1:${this.port}`);
    if (discovery) return sendJson(res, 200, discovery);
    const target = parsePath(url.pathname);
    if (!target) return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource`);
    const { resource, namespace, name } = target;
    if (this.opts.forbidden?.has(resource.resource)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      return sendStatus(
        res,
        403,
        'Forbidden',
        `${resource.resource} is forbidden: User "system:serviceaccount:understory:k8s-watcher" cannot list resource "${resource.resource}" in API group "${resource.group}" ${scope}`,
        { kind: resource.resource },
      );
    }
    if (name) {
      const obj = this.store.get(resource.resource)!.get(this.key(resource, namespace, name));
      if (!obj) return sendStatus(res, 404, 'NotFound', `${resource.resource} "${name}" not found`);
      return sendJson(res, 200, obj);
    }
    const q = url.searchParams;
    if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(resource, namespace, q, res);
    this.list(resource, namespace, q, res);
  }

  private matching(resource: FakeResource, namespace: string | undefined): Obj[] {
    const all = [...this.store.get(resource.resource)!.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return all.map(([, o]) => o).filter((o) => !namespace || o.metadata.namespace === namespace);
  }

  private list(
    resource: FakeResource,
    namespace: string | undefined,
    q: URLSearchParams,
    res: ServerResponse,
  ) {
    const limit = Number(q.get('limit') ?? 0);
    let snap: { rv: number; items: Obj[] };
    let start = 0;
    let snapId: string;
    const cont = q.get('continue');
    if (cont) {
      let token: { snap: string; start: number };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { snap: string; start: number };
      } catch {
        return sendStatus(res, 400, 'BadRequest', 'continue key is not valid: invalid token');
      }
      const found = this.snapshots.get(token.snap);
      if (!found) {
        return sendStatus(
          res,
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      snap = found;
      snapId = token.snap;
      start = token.start;
    } else {
      snap = { rv: this.rv, items: this.matching(resource, namespace) };
      snapId = randomUUID();
    }
    const end = limit > 0 ? Math.min(start + limit, snap.items.length) : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      this.snapshots.set(snapId, snap);
      if (this.snapshots.size > 64) this.snapshots.delete(this.snapshots.keys().next().value!);
      metadata.continue = Buffer.from(JSON.stringify({ snap: snapId, start: end })).toString('base64url');
      metadata.remainingItemCount = snap.items.length - end;
    } else {
      this.snapshots.delete(snapId);
    }
    // Items of a list carry neither kind nor apiVersion on the wire: the list's kind says it.
    const items = snap.items.slice(start, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    sendJson(res, 200, { kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata, items });
  }

  private watch(
    resource: FakeResource,
    namespace: string | undefined,
    q: URLSearchParams,
    res: ServerResponse,
  ) {
    const rvParam = q.get('resourceVersion') ?? '';
    const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (from !== undefined && (!Number.isFinite(from) || from < this.compactedRv)) {
      const message = `too old resource version: ${rvParam} (${this.compactedRv})`;
      if (this.opts.goneAsHttp) return sendStatus(res, 410, 'Expired', message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', message) })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const w: OpenWatch = {
      resource,
      namespace,
      res,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      timers: [],
    };
    this.watches.add(w);
    res.on('close', () => this.endWatch(w));
    if (from === undefined) {
      for (const o of this.matching(resource, namespace)) this.writeEvent(w, 'ADDED', o);
    } else {
      for (const h of this.history) {
        if (h.rv <= from || h.resource !== resource.resource) continue;
        if (namespace && h.object.metadata.namespace !== namespace) continue;
        this.writeEvent(w, h.type, h.object);
      }
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0);
    if (timeoutSeconds > 0) w.timers.push(setTimeout(() => this.endWatch(w), timeoutSeconds * 1000));
    const every = this.opts.bookmarkIntervalMs ?? 0;
    if (w.bookmarks && every > 0) w.timers.push(setInterval(() => this.writeBookmark(w), every));
  }

  private writeEvent(w: OpenWatch, type: string, object: Obj): void {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private writeBookmark(w: OpenWatch): void {
    const object = {
      kind: w.resource.kind,
      apiVersion: apiVersionOf(w.resource),
      metadata: { resourceVersion: String(this.rv), creationTimestamp: null },
    };
    w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

  private endWatch(w: OpenWatch): void {
    if (!this.watches.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
    w.res.end();
  }
}

function parsePath(path: string): { resource: FakeResource; namespace?: string; name?: string } | undefined {
  let rest: string[];
  let groupVersion: string;
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts[1] === 'v1') {
    groupVersion = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    groupVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  const find = (name: string | undefined) =>
    FAKE_RESOURCES.find((r) => r.resource === name && apiVersionOf(r) === groupVersion);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const resource = find(rest[2]);
    return resource?.namespaced ? { resource, namespace: rest[1], name: rest[3] } : undefined;
  }
  const resource = find(rest[0]);
  if (!resource || rest.length > 2) return undefined;
  return { resource, name: rest[1] };
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function sendStatus(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): void {
  sendJson(res, code, status(code, reason, message, details));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

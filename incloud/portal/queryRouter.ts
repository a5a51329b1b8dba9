import {
  formatIssues,
  isQueryKind,
  QUERY_PARAMS,
  type QueryKind,
  type QueryParams,
} from '../../lib/tunnel/index.ts';
import { type QueryAnswer, type QueryContext, QueryError, type QueryHandler } from './query.ts';

export type QueryHandlers = { [K in QueryKind]?: QueryHandler<QueryParams<K>> };

/**
 * Routes a request kind to its handler after validating the params against the shared schema
 * (lib/tunnel/queries.ts). Usable without the tunnel: tests and the benchmark call `serve` directly.
 */
export class QueryRouter {
  constructor(private readonly handlers: QueryHandlers) {}

  get kinds(): QueryKind[] {
    return (Object.keys(this.handlers) as QueryKind[]).filter((k) => this.handlers[k] !== undefined);
  }

  serve = async (kind: string, params: unknown, ctx: QueryContext): Promise<QueryAnswer> => {
    if (!isQueryKind(kind))
      throw new QueryError('not_found', `unknown request kind ${JSON.stringify(kind.slice(0, 64))}`);
    const handler = this.handlers[kind] as QueryHandler<unknown> | undefined;
    if (!handler) throw new QueryError('not_found', `this portal does not serve ${kind}`);
    const parsed = QUERY_PARAMS[kind].safeParse(params);
    if (!parsed.success)
      throw new QueryError('bad_request', `cannot run ${kind}: ${formatIssues(parsed.error)}`);
    return handler(parsed.data, ctx);
  };
}

import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

/** An OpenAPIHono whose validation failures all become the one error shape (400 invalid_request). */
export function newApp() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        const first = issues[0];
        throw new ApiError(
          400,
          'invalid_request',
          `cannot accept the request: ${first ? `${first.path || 'body'}: ${first.message}` : 'invalid'}`,
          {},
          issues,
        );
      }
    },
  });
}

export type App = ReturnType<typeof newApp>;

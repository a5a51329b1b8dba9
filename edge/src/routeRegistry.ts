/**
 * Every API route is defined through `defineRoute`, which requires a permission from the one permission table
 * (permissions.ts) and records it here. The authorize middleware looks the matched route up in this registry
 * and refuses routes that have none, so a route cannot forget its check; the route-permission test enumerates
 * the app's routes against this registry too.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Permission } from './permissions.ts';

const permissionByRoute = new Map<string, Permission>();

/** `GET /api/orgs/:orgId`: the key of a route, in hono's path syntax. */
export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replaceAll(/\{([^}]+)\}/g, ':$1')}`;
}

export function defineRoute<R extends RouteConfig>(config: R & { permission: Permission }) {
  const { permission, ...route } = config;
  permissionByRoute.set(routeKey(route.method, route.path), permission);
  return createRoute({ ...(route as unknown as R), 'x-permission': permission });
}

/** For routes not built with createRoute (the OpenAPI document itself). */
export function declarePermission(method: string, path: string, permission: Permission): void {
  permissionByRoute.set(routeKey(method, path), permission);
}

export function permissionOf(method: string, path: string): Permission | undefined {
  return permissionByRoute.get(routeKey(method, path));
}

export function declaredRoutes(): { key: string; permission: Permission }[] {
  return [...permissionByRoute].map(([key, permission]) => ({ key, permission }));
}

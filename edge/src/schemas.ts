/** Request and response schemas shared by several route files (zod 4 through @hono/zod-openapi). */
import { z } from '@hono/zod-openapi';
import { ROLES, TOKEN_SCOPES } from './permissions.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

export const Email = z
  .email()
  .max(254)
  .transform((s) => s.toLowerCase());
export const Password = z.string().min(10).max(256);
export const DisplayName = z.string().trim().min(1).max(100);
/** Lower-case DNS-label style names: safe inside shell commands, URLs and Helm values. */
export const Slug = z
  .string()
  .min(2)
  .max(40)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lower-case letters, digits and inner dashes');
export const Role = z.enum(ROLES);
export const Scopes = z.array(z.enum(TOKEN_SCOPES)).min(1).max(4);
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

export const OrgParams = z.object({ orgId: Id.openapi({ param: { name: 'orgId', in: 'path' } }) });

export const OkSchema = z.object({ ok: z.literal(true) });

export const UserSchema = z.object({ id: z.string(), email: z.string(), name: z.string() }).openapi('User');

/** Content helpers: `json(Schema, 'what')` for a response, `body(Schema)` for a JSON request body. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}
export function body<T extends z.ZodType>(schema: T) {
  return { body: { content: { 'application/json': { schema } }, required: true } };
}

/** The error responses every route may give, documented once. */
export const errorResponses = {
  400: json(ErrorSchema, 'invalid request'),
  401: json(ErrorSchema, 'not signed in'),
  403: json(ErrorSchema, 'not allowed, or CSRF check failed'),
  404: json(ErrorSchema, 'not found'),
} as const;

import type { Context } from 'hono';
import { schema } from './db.ts';
import { type AppEnv, actorOf } from './env.ts';

export type AuditEntry = {
  orgId?: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
  /** Overrides the request's principal, e.g. for a sign-in that has just created it. */
  actor?: string;
};

/** Records a security-relevant action with who (principal), what, when and from where (address, agent). */
export async function audit(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  await c.var.db.insert(schema.auditLog).values({
    orgId: entry.orgId ?? null,
    actor: entry.actor ?? actorOf(c.var.principal),
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    outcome: entry.outcome ?? 'success',
    ip: c.var.ip,
    userAgent: c.var.userAgent,
    details: JSON.stringify(entry.details ?? {}),
    createdAt: Date.now(),
  });
}

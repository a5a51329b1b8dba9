/**
 * The edge control plane's D1 schema (drizzle-orm). Migrations are generated from this file by drizzle-kit
 * (`npx drizzle-kit generate --config db/d1/drizzle.config.ts`) into db/d1/migrations; never hand-write DDL.
 *
 * Conventions: ids are prefixed random strings (`usr_`, `org_`, ...); times are epoch milliseconds; every secret
 * (session id, API token, install token, invitation token) is stored only as its SHA-256 hex digest.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /** Lower-cased; unique across the whole service. */
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  /** `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`; null for accounts that only sign in with SSO. */
  passwordHash: text('password_hash'),
  createdAt: integer('created_at').notNull(),
});

export const sessions = sqliteTable(
  'sessions',
  {
    /** SHA-256 of the random session id that lives only in the user's cookie. */
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Synchronizer CSRF token for this session (not a credential on its own). */
    csrfToken: text('csrf_token').notNull(),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    /** 'password' or 'sso:<orgId>'. */
    method: text('method').notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** Failed sign-in counters, one row per key (`account:<email>` or `ip:<address>`), fixed windows. */
export const loginThrottle = sqliteTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStart: integer('window_start').notNull(),
  lockedUntil: integer('locked_until').notNull(),
});

export const orgs = sqliteTable('orgs', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const memberships = sqliteTable(
  'memberships',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** owner | admin | editor | viewer (edge/src/permissions.ts). */
    role: text('role').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const invitations = sqliteTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    invitedBy: text('invited_by').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    acceptedAt: integer('accepted_at'),
  },
  (t) => [index('invitations_org_idx').on(t.orgId)],
);

/** Non-human principals of an organization; their tokens carry the scopes. */
export const serviceAccounts = sqliteTable(
  'service_accounts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('service_accounts_org_name_idx').on(t.orgId, t.name)],
);

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** Exactly one of userId (personal token) and serviceAccountId is set. */
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: text('service_account_id').references(() => serviceAccounts.id, {
      onDelete: 'cascade',
    }),
    name: text('name').notNull(),
    /** The first characters of the token, safe to show so users can recognise it. */
    displayPrefix: text('display_prefix').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** JSON array of scopes: read, write, admin, ingest. */
    scopes: text('scopes').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at'),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_tokens_org_idx').on(t.orgId)],
);

export const clusters = sqliteTable(
  'clusters',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    installTokenHash: text('install_token_hash').notNull().unique(),
    installTokenPrefix: text('install_token_prefix').notNull(),
    installTokenIssuedAt: integer('install_token_issued_at').notNull(),
    /** pending (never connected) | connected | disconnected; written by the tunnel. */
    status: text('status').notNull(),
    lastSeenAt: integer('last_seen_at'),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('clusters_org_name_idx').on(t.orgId, t.name)],
);

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Null for events outside any organization (sign-up, sign-in). */
    orgId: text('org_id'),
    /** `user:<id>`, `token:<id>`, `cluster:<id>` or `anonymous`. */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    /** success | failure */
    outcome: text('outcome').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    /** JSON object with action-specific facts (never secrets). */
    details: text('details').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('audit_log_org_idx').on(t.orgId, t.id)],
);

/** One OpenID Connect identity provider per organization. */
export const ssoConfigs = sqliteTable('sso_configs', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => orgs.id, { onDelete: 'cascade' }),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  /** Null for a public client (PKCE only). */
  clientSecret: text('client_secret'),
  /** Role given to users provisioned on their first SSO sign-in. */
  defaultRole: text('default_role').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Email domains an organization claims for SSO; a domain routes sign-ins only once verified (DNS TXT). */
export const ssoDomains = sqliteTable(
  'sso_domains',
  {
    domain: text('domain').notNull(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    verificationToken: text('verification_token').notNull(),
    verifiedAt: integer('verified_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.domain] }), index('sso_domains_domain_idx').on(t.domain)],
);

/** In-flight authorization requests: consumed exactly once by the callback. */
export const ssoStates = sqliteTable('sso_states', {
  stateHash: text('state_hash').primaryKey(),
  orgId: text('org_id')
    .notNull()
    .references(() => orgs.id, { onDelete: 'cascade' }),
  codeVerifier: text('code_verifier').notNull(),
  nonce: text('nonce').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

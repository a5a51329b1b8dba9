/** Largest request body the API accepts; nothing it takes needs more (enforced by hono's bodyLimit in index.ts). */
export const MAX_BODY_BYTES = 64 * 1024;

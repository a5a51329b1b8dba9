/**
 * A small History-API router: the whole UI state that matters (org, page in the path; cluster and time range
 * in the query string) lives in the URL, so links can be shared and the back button works. The worker answers
 * every non-/api path with index.html (SPA fallback).
 */
import { useEffect, useState, useSyncExternalStore } from 'react';

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return path;
}

function subscribeLocation(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
}

/** The current query string (with its `?`, or ''); re-renders when navigation changes it. */
export function useSearch(): string {
  return useSyncExternalStore(subscribeLocation, () => location.search);
}

/**
 * Changes some query parameters of the current URL and keeps the rest (`null` removes one). Pushes a history
 * entry unless `replace`, so a change of time range can be undone with the back button.
 */
export function setSearchParams(changes: Record<string, string | null>, replace = false): void {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) params.delete(k);
    else params.set(k, v);
  }
  const qs = params.toString();
  navigate(`${location.pathname}${qs ? `?${qs}` : ''}`, replace);
}

/** The query parameters that belong to the data pages' view and travel with links between them. */
export const SHARED_PARAMS = ['cluster', 'from', 'to', 'refresh'] as const;

/** `path` with the shared query parameters of the current URL, so moving between data pages keeps the view. */
export function withSharedParams(path: string, search = location.search): string {
  const current = new URLSearchParams(search);
  const [base, query = ''] = path.split('?', 2) as [string, string?];
  const next = new URLSearchParams(query);
  for (const k of SHARED_PARAMS) {
    const v = current.get(k);
    if (v !== null && !next.has(k)) next.set(k, v);
  }
  const qs = next.toString();
  return qs ? `${base}?${qs}` : base;
}

/**
 * `/o/<slug>/<page>[/<more>...]` -> { org, page, rest } (rest: the decoded segments after the page, e.g. a
 * service's namespace and name); anything else -> null.
 */
export function parseOrgPath(path: string): { org: string; page: string; rest: string[] } | null {
  const m = /^\/o\/([a-z0-9-]+)(?:\/([a-z-]+))?((?:\/[^/]+)*)\/?$/.exec(path);
  if (!m) return null;
  const rest = (m[3] ?? '').split('/').filter(Boolean).map(safeDecode);
  return { org: m[1]!, page: m[2] ?? 'clusters', rest };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Same-origin links that navigate without reloading, and still open in a new tab on ctrl/cmd-click. */
export function linkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/');
}

/**
 * A small History-API router: the whole UI state that matters (org, page) lives in the path, so links can
 * be shared and the back button works. The worker answers every non-/api path with index.html (SPA fallback).
 */
import { useEffect, useState } from 'react';

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

/** `/o/<slug>/<page>` -> { org, page }; anything else -> the top level path. */
export function parseOrgPath(path: string): { org: string; page: string } | null {
  const m = /^\/o\/([a-z0-9-]+)(?:\/([a-z-]+))?\/?$/.exec(path);
  if (!m) return null;
  return { org: m[1]!, page: m[2] ?? 'clusters' };
}

/** Same-origin links that navigate without reloading, and still open in a new tab on ctrl/cmd-click. */
export function linkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/');
}

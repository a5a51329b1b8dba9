/**
 * The last trace search the user ran (its full URL), so "back to traces" from a trace returns to the same
 * filters and sort even after moving between spans (which replaces history entries). In memory only.
 */
let last: string | null = null;

export function rememberSearchUrl(url: string): void {
  last = url;
}

export function lastSearchUrl(): string | null {
  return last;
}

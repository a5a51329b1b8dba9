/**
 * `p`, or a rejection "<what> timed out after <ms> ms" once `ms` pass; the timer is cleared either way.
 * No Node imports: the edge's workerd tests use it too.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

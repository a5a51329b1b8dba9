import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * Loads data for a page, again whenever `key` changes or on `reload()`; `data` stays while a reload runs.
 * Only the newest load's answer counts: on a slow machine an earlier, slower answer (the unfiltered list, the
 * previous range) must not overwrite a later one. When the load for a new key fails, the old key's data goes
 * away, so an error is never shown above figures that belong to other filters or another time range.
 * `setData` lets a page show the effect of its own change at once, before the reload confirms it.
 */
export function useLoad<T>(load: () => Promise<T>, key: string) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const dataKey = useRef<string | null>(null);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const next = await loadRef.current();
      if (mine !== generation.current) return;
      dataKey.current = key;
      setData(next);
      setError(null);
    } catch (err) {
      if (mine !== generation.current) return;
      if (dataKey.current !== key) setData(undefined);
      setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [key]);
  useEffect(() => {
    void reload();
    // An answer arriving after unmount or a key change belongs to nobody.
    return () => {
      generation.current++;
    };
  }, [reload]);
  return { data, error, loading, reload, setData };
}

import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** When the last successful load finished. */
  updatedAt: number | null;
  /** Whether `data` was loaded for the current deps (false while a new query loads or after it failed). */
  current: boolean;
  refresh: () => void;
}

/**
 * Loads now and again every `intervalMs` (0 = once) while the tab is visible;
 * reloads at once when `deps` change. A load in flight when deps change is
 * dropped, so a slow answer never overwrites a newer view.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  // Bumped whenever deps change, so data of an earlier query is known as such.
  const generation = useRef({ deps, n: 0 });
  if (deps.length !== generation.current.deps.length || deps.some((d, i) => !Object.is(d, generation.current.deps[i]))) generation.current = { deps, n: generation.current.n + 1 };
  const [dataGeneration, setDataGeneration] = useState(-1);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctrl = new AbortController();
    const gen = generation.current.n;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const run = async () => {
      if (stopped) return;
      if (document.hidden && intervalMs > 0) {
        timer = setTimeout(run, 1000);
        return;
      }
      setLoading(true);
      try {
        const value = await loadRef.current(ctrl.signal);
        if (stopped) return;
        setData(value);
        setDataGeneration(gen);
        setError(null);
        setUpdatedAt(Date.now());
      } catch (err) {
        if (stopped) return;
        setError(err);
      } finally {
        if (!stopped) setLoading(false);
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick, intervalMs]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, updatedAt, refresh, current: dataGeneration === generation.current.n };
}

/** The value, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** Re-renders every `ms` (for "5 s ago" labels). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

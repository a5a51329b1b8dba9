import { useEffect, useRef, useState } from 'react';

/**
 * What a form or a button does when used: usually one API call and what follows it (reset the form, reload
 * the list, navigate). `useLoad` reads; this changes.
 */
export type ActionFn = () => Promise<unknown>;

/** An action resolving to this has started a full-page navigation: its control stays busy until the page goes. */
export const LEAVING_PAGE = Symbol('leaving the page');

export interface ActionState {
  /** The key of the action that runs (`run`'s second argument), or null when none does. */
  running: string | null;
  /** What the last action threw (an `ApiError` from the client, usually); cleared when the next one starts. */
  error: unknown;
}

const IDLE: ActionState = { running: null, error: null };

/**
 * The React-free core of `useAction`: one action at a time, its error kept, nothing reported once the
 * component is gone. `report` is React's state setter; it is only called while `mounted` is true.
 */
export class ActionRunner {
  mounted = true;
  private state: ActionState = IDLE;

  constructor(private readonly report: (state: ActionState) => void) {}

  /**
   * Runs `action` unless another one is still running (a double click or a second Enter is ignored: the
   * first submit is the one that counts). Resolves to true when it ran and did not throw.
   */
  async run(action: ActionFn, key = 'action'): Promise<boolean> {
    if (this.state.running !== null) return false;
    this.set({ running: key, error: null });
    try {
      if ((await action()) !== LEAVING_PAGE) this.set({ running: null, error: null });
      return true;
    } catch (err) {
      this.set({ running: null, error: err });
      return false;
    }
  }

  private set(next: ActionState): void {
    this.state = next;
    if (this.mounted) this.report(next);
  }
}

/**
 * Busy and error state for a form or a row of buttons, without the try/catch/finally around each API call:
 *
 *   const save = useAction();
 *   <form onSubmit={(e) => { e.preventDefault(); void save.run(() => api.save(...)); }}>
 *   <ErrorNote error={save.error} /> <button disabled={save.busy}>
 *
 * `running` names which of several actions runs (e.g. the id of the token being revoked), so one row can say so.
 */
export function useAction() {
  const [state, setState] = useState<ActionState>(IDLE);
  const runner = useRef<ActionRunner | null>(null);
  runner.current ??= new ActionRunner(setState);
  const current = runner.current;
  useEffect(() => {
    // StrictMode mounts twice: mark mounted on every mount, not only at construction.
    current.mounted = true;
    return () => {
      current.mounted = false;
    };
  }, [current]);
  return {
    busy: state.running !== null,
    running: state.running,
    error: state.error,
    run: (action: ActionFn, key?: string) => current.run(action, key),
  };
}

export type Action = ReturnType<typeof useAction>;

/**
 * The logs query box: a combobox offering field names and the values seen in recent results at the caret.
 * Keys: Down/Up pick a suggestion, Enter or Tab takes it (Enter with none picked runs the query), Escape
 * closes the list. A help panel lists the language.
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { applySuggestion, type KnownValues, LOG_FIELDS, type Suggestions, suggest } from './querySuggest.ts';

export function LogQueryInput({
  value,
  onChange,
  onSubmit,
  onFocus,
  known,
  busy,
}: {
  value: string;
  onChange: (v: string) => void;
  onSubmit: (v: string) => void;
  onFocus?: () => void;
  known: KnownValues;
  busy: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [caret, setCaret] = useState(value.length);
  const [help, setHelp] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();
  const helpId = useId();
  // `/` anywhere outside a text field jumps to the query box, as in most log tools.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      e.preventDefault();
      input.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const sugg: Suggestions | null = open ? suggest(value, caret, known) : null;
  const items = sugg?.items ?? [];
  const shown = open && items.length > 0;

  const take = (i: number) => {
    const item = items[i];
    if (!sugg || !item) return;
    const next = applySuggestion(value, sugg, item);
    onChange(next.text);
    setCaret(next.caret);
    setActive(-1);
    // A field name wants its value next; a finished term closes the list.
    setOpen(!item.insert.endsWith(' '));
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(next.caret, next.caret);
    });
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setOpen(false);
    onSubmit(value);
  };

  return (
    <form className="lq" onSubmit={submit} aria-label="Search logs">
      <div className="lq-box">
        <svg className="lq-icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
          <circle cx="7" cy="7" r="4.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M10.5 10.5 14 14" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
        </svg>
        <input
          ref={input}
          className="lq-input mono"
          role="combobox"
          aria-label="Logs query"
          aria-expanded={shown}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
          aria-describedby={help ? helpId : undefined}
          placeholder='service:checkout severity:error -pod:web-1 "connection refused"   (press / to search)'
          spellCheck={false}
          autoComplete="off"
          value={value}
          onChange={(e) => {
            onChange(e.target.value);
            setCaret(e.target.selectionStart ?? e.target.value.length);
            setActive(-1);
            setOpen(true);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? value.length)}
          onFocus={onFocus}
          onBlur={() => setTimeout(() => setOpen(false), 120)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              if (!open) setOpen(true);
              else setActive((a) => Math.min(items.length - 1, a + 1));
            } else if (e.key === 'ArrowUp' && shown) {
              e.preventDefault();
              setActive((a) => Math.max(-1, a - 1));
            } else if ((e.key === 'Enter' || e.key === 'Tab') && shown && active >= 0) {
              e.preventDefault();
              take(active);
            } else if (e.key === 'Escape' && shown) {
              e.preventDefault();
              setOpen(false);
            }
          }}
        />
        {shown ? (
          <div className="lq-list" role="listbox" id={listId} aria-label="Suggestions">
            {items.map((it, i) => (
              <div
                key={`${it.label}|${it.detail ?? ''}`}
                tabIndex={-1}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                onMouseDown={(e) => {
                  e.preventDefault(); // keep the focus in the input
                  take(i);
                }}
              >
                <span className="mono">{it.label}</span>
                {it.detail ? <span className="lq-detail">{it.detail}</span> : null}
              </div>
            ))}
          </div>
        ) : null}
      </div>
      <button
        type="button"
        className="btn btn-ghost"
        aria-expanded={help}
        aria-controls={helpId}
        onClick={() => setHelp(!help)}
      >
        Syntax
      </button>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        Search
      </button>
      {help ? <QueryHelp id={helpId} /> : null}
    </form>
  );
}

function QueryHelp({ id }: { id: string }) {
  return (
    <div className="lq-help card" id={id}>
      <table className="kv">
        <tbody>
          {[
            ['timeout', 'the line contains the word (any case)'],
            ['"connection refused"', 'the line contains the phrase'],
            ['service:checkout', 'a field equals a value'],
            ['pod:checkout-*', 'a field starts with a value'],
            ['attr.http.method:POST', 'a log attribute; resource.<key>: a resource attribute'],
            ['attr.user_id:*', 'the attribute is present'],
            ['-severity:debug  -healthz', 'a leading - excludes'],
          ].map(([q, d]) => (
            <tr key={q}>
              <th scope="row">{q}</th>
              <td>{d}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        All terms must match. Fields: {LOG_FIELDS.map((f) => f.name).join(', ')}. Quote text that contains a
        colon. The time range comes from the picker above.
      </p>
    </div>
  );
}

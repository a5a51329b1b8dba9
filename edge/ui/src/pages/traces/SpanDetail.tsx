/**
 * The detail of one span: status and timing, the call's key attributes, request and response headers and
 * bodies exactly as the sensor redacted them, then every other attribute, the resource, events and links.
 * Loaded on demand (`traces/{traceId}/spans/{spanId}`): the waterfall only carries the summary.
 */
import { type ReactNode, useEffect, useRef } from 'react';
import { linkClick, withSharedParams } from '../../router.ts';
import { ErrorNote, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { formatDuration, formatTimestamp, nsToMs, serviceColor } from './format.ts';
import { isRedacted, KEY_ATTRIBUTES, prettyBody, splitSpan } from './spanParts.ts';
import { getSpan, kindOf, statusOf, type TraceSpan } from './tracesApi.ts';
import type { SpanNode } from './traceTree.ts';

export function SpanDetail({
  orgId,
  orgSlug,
  clusterId,
  node,
  traceDurationMs,
  onClose,
}: {
  orgId: string;
  orgSlug: string;
  clusterId: string;
  node: SpanNode<TraceSpan>;
  traceDurationMs: number;
  onClose: () => void;
}) {
  const { span } = node;
  const { data, error, loading, reload } = useLoad(
    () => getSpan(orgId, clusterId, span.traceId, span.spanId),
    `${clusterId}/${span.traceId}/${span.spanId}`,
  );
  const headingRef = useRef<HTMLHeadingElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves when another span is opened
  useEffect(() => {
    headingRef.current?.focus({ preventScroll: true });
  }, [span.spanId]);
  const color = serviceColor(span.service);
  const status = statusOf(span.status);
  const parts = data ? splitSpan(data) : null;
  const keyAttrs = parts
    ? KEY_ATTRIBUTES.flatMap((k) => {
        const v = parts.attributes.find(([a]) => a === k)?.[1];
        return v === undefined ? [] : [[k, v] as [string, string]];
      })
    : [];
  const otherAttrs = parts ? parts.attributes.filter(([k]) => !KEY_ATTRIBUTES.includes(k)) : [];
  const left = traceDurationMs > 0 ? (node.offsetMs / traceDurationMs) * 100 : 0;
  const width = traceDurationMs > 0 ? Math.max((node.durationMs / traceDurationMs) * 100, 0.5) : 100;

  return (
    <section
      className="span-detail card"
      aria-labelledby="span-detail-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <header className="sd-head">
        <div className="sd-title-row">
          <span className="svc-swatch" style={{ background: color }} aria-hidden="true" />
          <span className="sd-service" style={{ color }}>
            {span.service || 'unknown'}
          </span>
          <span className={`status-pill status-${status}`}>{status === 'unset' ? 'no status' : status}</span>
          <span className="chip">{kindOf(span.kind)}</span>
          <button
            type="button"
            className="btn btn-ghost btn-sm sd-close"
            onClick={onClose}
            aria-label="Close span detail"
          >
            ✕
          </button>
        </div>
        <h2 id="span-detail-title" ref={headingRef} tabIndex={-1}>
          {span.name}
        </h2>
        <dl className="sd-timing">
          <div>
            <dt>Duration</dt>
            <dd className="strong">{formatDuration(node.durationMs * 1e6)}</dd>
          </div>
          <div>
            <dt>Starts at</dt>
            <dd>+{formatDuration(node.offsetMs * 1e6)}</dd>
          </div>
          <div>
            <dt>Time</dt>
            <dd>{formatTimestamp(nsToMs(span.timestamp))}</dd>
          </div>
        </dl>
        <div className="sd-links">
          <a
            href={withSharedParams(
              `/o/${orgSlug}/logs?q=${encodeURIComponent(`trace_id:${span.traceId} span_id:${span.spanId}`)}`,
            )}
            onClick={linkClick}
          >
            Logs of this span
          </a>
        </div>
        <div className="sd-minibar" aria-hidden="true">
          <span
            style={{
              left: `${left}%`,
              width: `${width}%`,
              background: status === 'error' ? 'var(--danger)' : color,
            }}
          />
        </div>
      </header>
      <div className="sd-body">
        <ErrorNote error={error} />
        {error ? (
          <button type="button" className="btn btn-secondary btn-sm" onClick={() => void reload()}>
            Retry
          </button>
        ) : null}
        {loading && !data ? <Spinner label="Loading span" /> : null}
        {data && parts ? (
          <>
            {data.statusMessage ? (
              <div className={`alert ${status === 'error' ? 'alert-error' : 'alert-warn'}`}>
                {data.statusMessage}
              </div>
            ) : null}
            {keyAttrs.length > 0 ? <KeyValues rows={keyAttrs} label="Call" /> : null}
            <Section title="Request" count={parts.requestHeaders.length + (parts.requestBody ? 1 : 0)}>
              <Headers rows={parts.requestHeaders} />
              <Body label="Request body" body={parts.requestBody} />
            </Section>
            <Section title="Response" count={parts.responseHeaders.length + (parts.responseBody ? 1 : 0)}>
              <Headers rows={parts.responseHeaders} />
              <Body label="Response body" body={parts.responseBody} />
            </Section>
            {parts.otherBodies.map(([k, v]) => (
              <Section key={k} title={k} count={1}>
                <Body label={k} body={v} />
              </Section>
            ))}
            <Section title="Attributes" count={otherAttrs.length}>
              <KeyValues rows={otherAttrs} label="Attributes" />
            </Section>
            <Section title="Resource" count={Object.keys(data.resource).length} closed>
              <KeyValues
                rows={Object.entries(data.resource).sort(([a], [b]) => a.localeCompare(b))}
                label="Resource"
              />
            </Section>
            {data.events.length > 0 ? (
              <Section title="Events" count={data.events.length}>
                <ol className="sd-events">
                  {data.events.map((ev) => (
                    <li key={`${ev.timestamp}-${ev.name}`}>
                      <span className="mono muted">
                        +{formatDuration((nsToMs(ev.timestamp) - nsToMs(span.timestamp)) * 1e6)}
                      </span>{' '}
                      <span className="strong">{ev.name}</span>
                      {Object.keys(ev.attributes).length > 0 ? (
                        <KeyValues rows={Object.entries(ev.attributes)} label={`${ev.name} attributes`} />
                      ) : null}
                    </li>
                  ))}
                </ol>
              </Section>
            ) : null}
            {data.links.length > 0 ? (
              <Section title="Links" count={data.links.length}>
                <KeyValues
                  rows={data.links.map((l) => [l.traceId, l.spanId] as [string, string])}
                  label="Links"
                />
              </Section>
            ) : null}
            <Section title="Identifiers" count={3} closed>
              <KeyValues
                rows={[
                  ['trace id', data.traceId],
                  ['span id', data.spanId],
                  ['parent span id', data.parentSpanId || '(root)'],
                  ['scope', data.scopeName || '–'],
                ]}
                label="Identifiers"
              />
            </Section>
          </>
        ) : null}
      </div>
    </section>
  );
}

function Section({
  title,
  count,
  closed,
  children,
}: {
  title: string;
  count: number;
  closed?: boolean;
  children: ReactNode;
}) {
  return (
    <details className="sd-section" open={!closed}>
      <summary>
        {title} <span className="sd-count">{count}</span>
      </summary>
      {children}
    </details>
  );
}

function Value({ v }: { v: string }) {
  return (
    <>
      {v}
      {isRedacted(v) ? <span className="redacted-chip">redacted</span> : null}
    </>
  );
}

function KeyValues({ rows, label }: { rows: [string, string][]; label: string }) {
  if (rows.length === 0) return <p className="muted sd-none">None recorded.</p>;
  return (
    <table className="kv" aria-label={label}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              <Value v={v} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Headers({ rows }: { rows: [string, string][] }) {
  if (rows.length === 0) return <p className="muted sd-none">No headers captured.</p>;
  return <KeyValues rows={rows} label="Headers" />;
}

function Body({ label, body }: { label: string; body: string | null }) {
  if (body === null || body === '') return null;
  const { text, json } = prettyBody(body);
  return (
    <figure className="sd-bodyfig">
      <figcaption>
        {label}
        {json ? <span className="chip">JSON</span> : null}
        {isRedacted(body) ? <span className="redacted-chip">redacted parts</span> : null}
      </figcaption>
      <pre className="sd-bodytext">{text}</pre>
    </figure>
  );
}

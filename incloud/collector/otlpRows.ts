import {
  anyValueToString,
  asArray,
  asNanos,
  asObject,
  asString,
  asUint,
  attributesToMap,
  dateTime64,
  idHex,
} from './otlpValues.ts';

/**
 * OTLP logs and spans -> rows of `otel_logs` / `otel_traces`, the way the OpenTelemetry Collector's ClickHouse
 * exporter fills them. Pure functions: they throw `OtlpInputError` on malformed input before anything is
 * stored, so a request is stored whole or not at all.
 */
export type Row = Record<string, unknown>;

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const SPAN_KIND_BY_NAME = Object.fromEntries(SPAN_KINDS.map((k, i) => [k, i]));
const STATUS_BY_NAME = Object.fromEntries(STATUS_CODES.map((k, i) => [k, i]));

function serviceName(resourceAttributes: Record<string, string>): string {
  return resourceAttributes['service.name'] ?? '';
}

export function logRows(req: Row): Row[] {
  const rows: Row[] = [];
  for (const [ri, rl] of asArray(req.resourceLogs, 'resourceLogs').entries()) {
    const r = asObject(rl, `resourceLogs[${ri}]`);
    const resource = asObject(r.resource, 'resource');
    const resAttrs = attributesToMap(resource.attributes, 'resource.attributes');
    const resSchema = asString(r.schemaUrl, 'resourceLogs.schemaUrl');
    for (const sl of asArray(r.scopeLogs, 'scopeLogs')) {
      const s = asObject(sl, 'scopeLogs');
      const scope = asObject(s.scope, 'scope');
      const scopeName = asString(scope.name, 'scope.name');
      const scopeVersion = asString(scope.version, 'scope.version');
      const scopeAttrs = attributesToMap(scope.attributes, 'scope.attributes');
      const scopeSchema = asString(s.schemaUrl, 'scopeLogs.schemaUrl');
      for (const lr of asArray(s.logRecords, 'logRecords')) {
        const l = asObject(lr, 'logRecord');
        let ts = asNanos(l.timeUnixNano, 'logRecord.timeUnixNano');
        if (ts === 0n) ts = asNanos(l.observedTimeUnixNano, 'logRecord.observedTimeUnixNano');
        rows.push({
          Timestamp: dateTime64(ts),
          TraceId: idHex(l.traceId, 16, 'logRecord.traceId'),
          SpanId: idHex(l.spanId, 8, 'logRecord.spanId'),
          TraceFlags: asUint(l.flags, 'logRecord.flags') & 0xff,
          SeverityText: asString(l.severityText, 'logRecord.severityText'),
          SeverityNumber: Math.min(asUint(l.severityNumber, 'logRecord.severityNumber'), 255),
          ServiceName: serviceName(resAttrs),
          Body: l.body === undefined ? '' : anyValueToString(l.body, 'logRecord.body'),
          ResourceSchemaUrl: resSchema,
          ResourceAttributes: resAttrs,
          ScopeSchemaUrl: scopeSchema,
          ScopeName: scopeName,
          ScopeVersion: scopeVersion,
          ScopeAttributes: scopeAttrs,
          LogAttributes: attributesToMap(l.attributes, 'logRecord.attributes'),
          EventName: asString(l.eventName, 'logRecord.eventName'),
        });
      }
    }
  }
  return rows;
}

export function spanRows(req: Row): Row[] {
  const rows: Row[] = [];
  for (const [ri, rs] of asArray(req.resourceSpans, 'resourceSpans').entries()) {
    const r = asObject(rs, `resourceSpans[${ri}]`);
    const resAttrs = attributesToMap(asObject(r.resource, 'resource').attributes, 'resource.attributes');
    for (const ss of asArray(r.scopeSpans, 'scopeSpans')) {
      const s = asObject(ss, 'scopeSpans');
      const scope = asObject(s.scope, 'scope');
      const scopeName = asString(scope.name, 'scope.name');
      const scopeVersion = asString(scope.version, 'scope.version');
      for (const sp of asArray(s.spans, 'spans')) {
        const span = asObject(sp, 'span');
        const start = asNanos(span.startTimeUnixNano, 'span.startTimeUnixNano');
        const end = asNanos(span.endTimeUnixNano, 'span.endTimeUnixNano');
        const status = asObject(span.status, 'span.status');
        const events = asArray(span.events, 'span.events').map((e) => asObject(e, 'span.event'));
        const links = asArray(span.links, 'span.links').map((e) => asObject(e, 'span.link'));
        rows.push({
          Timestamp: dateTime64(start),
          TraceId: idHex(span.traceId, 16, 'span.traceId'),
          SpanId: idHex(span.spanId, 8, 'span.spanId'),
          ParentSpanId: idHex(span.parentSpanId, 8, 'span.parentSpanId'),
          TraceState: asString(span.traceState, 'span.traceState'),
          SpanName: asString(span.name, 'span.name'),
          SpanKind: SPAN_KINDS[asUint(span.kind, 'span.kind', SPAN_KIND_BY_NAME)] ?? '',
          ServiceName: serviceName(resAttrs),
          ResourceAttributes: resAttrs,
          ScopeName: scopeName,
          ScopeVersion: scopeVersion,
          SpanAttributes: attributesToMap(span.attributes, 'span.attributes'),
          // An end before the start would wrap a UInt64; the exporter stores Go's negative duration cast, we store 0.
          Duration: end > start ? (end - start).toString() : '0',
          StatusCode: STATUS_CODES[asUint(status.code, 'span.status.code', STATUS_BY_NAME)] ?? '',
          StatusMessage: asString(status.message, 'span.status.message'),
          'Events.Timestamp': events.map((e) => dateTime64(asNanos(e.timeUnixNano, 'event.timeUnixNano'))),
          'Events.Name': events.map((e) => asString(e.name, 'event.name')),
          'Events.Attributes': events.map((e) => attributesToMap(e.attributes, 'event.attributes')),
          'Links.TraceId': links.map((l) => idHex(l.traceId, 16, 'link.traceId')),
          'Links.SpanId': links.map((l) => idHex(l.spanId, 8, 'link.spanId')),
          'Links.TraceState': links.map((l) => asString(l.traceState, 'link.traceState')),
          'Links.Attributes': links.map((l) => attributesToMap(l.attributes, 'link.attributes')),
        });
      }
    }
  }
  return rows;
}

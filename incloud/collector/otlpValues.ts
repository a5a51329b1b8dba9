import { OtlpInputError } from './otlpSchema.ts';

/**
 * Conversions from decoded OTLP values (protobuf objects or OTLP/JSON, which share one shape) to the text the
 * OpenTelemetry Collector's ClickHouse exporter stores: attribute values as pcommon `AsString()` does,
 * ids as lower-case hex, times as nanoseconds.
 */
type Obj = Record<string, unknown>;

export function asObject(v: unknown, what: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new OtlpInputError(`cannot decode ${what}: not an object`);
  return v as Obj;
}

export function asArray(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpInputError(`cannot decode ${what}: not an array`);
  return v;
}

export function asString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new OtlpInputError(`cannot decode ${what}: not a string`);
  return v;
}

/** Small unsigned integers (flags, severity, enums); OTLP/JSON may also name an enum value. */
export function asUint(v: unknown, what: string, names?: Record<string, number>): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && names && v in names) return names[v]!;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new OtlpInputError(`cannot decode ${what}: not an unsigned integer`);
  }
  return n;
}

const MAX_U64 = (1n << 64n) - 1n;

/** Nanoseconds since the epoch (fixed64): decimal string or JSON number. */
export function asNanos(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const n = BigInt(v);
    if (n <= MAX_U64) return n;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new OtlpInputError(`cannot decode ${what}: not a nanosecond timestamp`);
}

const NS = 1_000_000_000n;

/** DateTime64(9) input as `seconds.nanoseconds` since the epoch: independent of any time zone setting. */
export function dateTime64(ns: bigint): string {
  return `${ns / NS}.${(ns % NS).toString().padStart(9, '0')}`;
}

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Trace/span ids as lower-case hex; '' when absent or all zero (the exporter's "OrEmptyString").
 * Protobuf gives bytes; OTLP/JSON gives hex (the official examples use upper case).
 */
export function idHex(v: unknown, bytes: 8 | 16, what: string): string {
  if (v === undefined || v === null) return '';
  let hex: string;
  if (v instanceof Uint8Array) {
    if (v.length === 0) return '';
    if (v.length !== bytes)
      throw new OtlpInputError(`cannot decode ${what}: ${v.length} bytes, want ${bytes}`);
    hex = Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex');
  } else if (typeof v === 'string') {
    if (v === '') return '';
    if (v.length !== bytes * 2 || !HEX.test(v)) {
      throw new OtlpInputError(`cannot decode ${what}: want ${bytes * 2} hex digits`);
    }
    hex = v.toLowerCase();
  } else {
    throw new OtlpInputError(`cannot decode ${what}: not bytes or hex`);
  }
  return /^0+$/.test(hex) ? '' : hex;
}

/** A pcommon.Value as its `AsString()`: scalars as text, arrays and maps as JSON, bytes as base64. */
export function anyValueToString(v: unknown, what: string): string {
  const raw = anyValueToRaw(v, what, 0);
  if (raw === null) return '';
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'object') return JSON.stringify(raw);
  return String(raw);
}

const MAX_DEPTH = 32;

function anyValueToRaw(v: unknown, what: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new OtlpInputError(`cannot decode ${what}: nested deeper than ${MAX_DEPTH}`);
  const o = asObject(v, what);
  if (o.stringValue !== undefined) return asString(o.stringValue, what);
  if (o.boolValue !== undefined) {
    if (typeof o.boolValue !== 'boolean')
      throw new OtlpInputError(`cannot decode ${what}: boolValue not a bool`);
    return o.boolValue;
  }
  if (o.intValue !== undefined) {
    const s = typeof o.intValue === 'number' ? String(o.intValue) : o.intValue;
    if (typeof s !== 'string' || !/^-?\d{1,19}$/.test(s)) {
      throw new OtlpInputError(`cannot decode ${what}: intValue not an integer`);
    }
    return Number(s);
  }
  if (o.doubleValue !== undefined) {
    if (typeof o.doubleValue !== 'number')
      throw new OtlpInputError(`cannot decode ${what}: doubleValue not a number`);
    return o.doubleValue;
  }
  if (o.bytesValue !== undefined) {
    if (o.bytesValue instanceof Uint8Array) return Buffer.from(o.bytesValue).toString('base64');
    return asString(o.bytesValue, what);
  }
  if (o.arrayValue !== undefined) {
    return asArray(asObject(o.arrayValue, what).values, what).map((x) => anyValueToRaw(x, what, depth + 1));
  }
  if (o.kvlistValue !== undefined) {
    // Keys sorted: the exporter's AsString() marshals a Go map, and Go's encoding/json sorts map keys.
    const entries = asArray(asObject(o.kvlistValue, what).values, what).map((kv) => {
      const e = asObject(kv, what);
      return [asString(e.key, `${what} key`), anyValueToRaw(e.value, what, depth + 1)] as const;
    });
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  }
  return null;
}

/** A repeated KeyValue as the exporter's Map(String, String). */
export function attributesToMap(v: unknown, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of asArray(v, what)) {
    const e = asObject(kv, what);
    const key = asString(e.key, `${what} key`);
    out[key] = anyValueToString(e.value, `${what}[${key}]`);
  }
  return out;
}

import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The three OTLP signals and their request/response messages in otlp.proto. */
export type Signal = 'traces' | 'logs' | 'metrics';

const root = protobuf.loadSync(fileURLToPath(new URL('./otlp.proto', import.meta.url)));
const REQUEST = {
  traces: root.lookupType('otlp.ExportTraceServiceRequest'),
  logs: root.lookupType('otlp.ExportLogsServiceRequest'),
  metrics: root.lookupType('otlp.ExportMetricsServiceRequest'),
};
const RESPONSE = {
  traces: root.lookupType('otlp.ExportTraceServiceResponse'),
  logs: root.lookupType('otlp.ExportLogsServiceResponse'),
  metrics: root.lookupType('otlp.ExportMetricsServiceResponse'),
};
const REJECTED_FIELD = { traces: 'rejectedSpans', logs: 'rejectedLogRecords', metrics: 'rejectedDataPoints' };
const RPC_STATUS = root.lookupType('otlp.RpcStatus');

/** Input the sender must fix: answered 400, counted, nothing stored. */
export class OtlpInputError extends Error {}

/**
 * Decodes an OTLP protobuf request into the same plain-object shape OTLP/JSON has (lowerCamelCase keys,
 * 64-bit integers as decimal strings); ids and bytes stay binary (`Uint8Array`) where JSON has hex/base64.
 */
export function decodeProtobuf(signal: Signal, body: Uint8Array): Record<string, unknown> {
  const type = REQUEST[signal];
  try {
    return type.toObject(type.decode(body), { longs: String, enums: Number }) as Record<string, unknown>;
  } catch (err) {
    throw new OtlpInputError(`cannot decode OTLP ${signal} protobuf: ${(err as Error).message}`);
  }
}

export function decodeJson(signal: Signal, body: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new OtlpInputError(`cannot decode OTLP ${signal} JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new OtlpInputError(`cannot decode OTLP ${signal} JSON: the body is not an object`);
  }
  return v as Record<string, unknown>;
}

/** The success answer; `rejected` > 0 makes it a partial success with `message`. */
export function encodeResponse(signal: Signal, json: boolean, rejected = 0, message = ''): Buffer {
  const obj =
    rejected > 0 ? { partialSuccess: { [REJECTED_FIELD[signal]]: rejected, errorMessage: message } } : {};
  if (json) return Buffer.from(JSON.stringify(obj));
  const type = RESPONSE[signal];
  return Buffer.from(type.encode(type.fromObject(obj)).finish());
}

/** An error answer as google.rpc.Status (gRPC code from the HTTP status, per the OTLP/HTTP spec). */
export function encodeStatus(json: boolean, httpStatus: number, message: string): Buffer {
  const code = httpStatus === 400 ? 3 : httpStatus === 413 ? 8 : httpStatus === 429 ? 8 : 14;
  if (json) return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(RPC_STATUS.encode(RPC_STATUS.fromObject({ code, message })).finish());
}

/**
 * Container log lines in the CRI format that kubelet writes under /var/log/pods/<ns>_<pod>_<uid>/<container>/N.log:
 *   <RFC 3339 nano time> <stdout|stderr> <P|F>[:tags] <message>
 * `P` marks a partial line (the runtime split a long line); the partials and the final `F` line form one
 * record. See the CRI container log format (kubernetes/cri-api, "CRI logging format").
 *
 * `CriAssembler` is per file: it keeps the partial message of each stream; bounded by `maxRecordChars`
 * (longer records are cut and flagged).
 */
export interface CriRecord {
  timeUnixNano: bigint;
  stream: 'stdout' | 'stderr';
  message: string;
  truncated: boolean;
  /** File offset of the record's first line (its first `P` line), when the reader knows it. */
  fromOffset?: number;
}

export type Severity = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

/** OTLP severity numbers of the base level of each name. */
export const SEVERITY_NUMBER: Record<Severity, number> = {
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
};

const LINE =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) (stdout|stderr) ([PF])(?::\S*)? ?(.*)$/s;

/** Parses one line (without its newline); undefined when it is not CRI. */
export function parseCriLine(
  line: string,
): { timeUnixNano: bigint; stream: 'stdout' | 'stderr'; partial: boolean; message: string } | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '.').slice(1).padEnd(9, '0');
  return {
    timeUnixNano: BigInt(ms) * 1_000_000n + BigInt(frac),
    stream: m[4] as 'stdout' | 'stderr',
    partial: m[5] === 'P',
    message: m[6] ?? '',
  };
}

export class CriAssembler {
  private readonly partial = new Map<
    string,
    { first: bigint; parts: string[]; chars: number; fromOffset: number }
  >();
  /** Lines that were not CRI (counted; kept as plain stdout records with the read time). */
  invalid = 0;

  constructor(private readonly maxRecordChars = 64 * 1024) {}

  /**
   * The file offset of the oldest `P` line still waiting for its `F` (as passed to `push`), of `stream`'s
   * when given, or undefined: offsets must not be committed past it, or a restart would lose the start of
   * that message.
   */
  heldFrom(stream?: string): number | undefined {
    if (stream !== undefined) return this.partial.get(stream)?.fromOffset;
    let min: number | undefined;
    for (const p of this.partial.values()) if (min === undefined || p.fromOffset < min) min = p.fromOffset;
    return min;
  }

  /** Feeds one line (`offset`: where it starts in its file); returns a complete record when it ends one. */
  push(
    line: string,
    nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
    offset = 0,
  ): CriRecord | undefined {
    const p = parseCriLine(line);
    if (!p) {
      this.invalid++;
      return this.bounded({
        timeUnixNano: nowNs(),
        stream: 'stdout',
        message: line,
        truncated: false,
        fromOffset: offset,
      });
    }
    const pending = this.partial.get(p.stream);
    if (p.partial) {
      if (pending) {
        if (pending.chars < this.maxRecordChars) pending.parts.push(p.message);
        pending.chars += p.message.length;
      } else
        this.partial.set(p.stream, {
          first: p.timeUnixNano,
          parts: [p.message],
          chars: p.message.length,
          fromOffset: offset,
        });
      return undefined;
    }
    if (!pending)
      return this.bounded({
        timeUnixNano: p.timeUnixNano,
        stream: p.stream,
        message: p.message,
        truncated: false,
        fromOffset: offset,
      });
    this.partial.delete(p.stream);
    pending.parts.push(p.message);
    return this.bounded({
      timeUnixNano: pending.first,
      stream: p.stream,
      message: pending.parts.join(''),
      truncated: false,
      fromOffset: pending.fromOffset,
    });
  }

  private bounded(r: CriRecord): CriRecord {
    if (r.message.length <= this.maxRecordChars) return r;
    return { ...r, message: r.message.slice(0, this.maxRecordChars), truncated: true };
  }
}

const JSON_LEVEL = /"(?:level|severity|lvl|loglevel)"\s*:\s*"([A-Za-z]+)"/i;
const KV_LEVEL = /\b(?:level|lvl|severity)=([A-Za-z]+)/i;
const WORD_LEVEL =
  /^(?:\S+\s+){0,3}?\[?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC)\]?[\s:]/;

/** A bracketed level in any case among the first four words, as nginx writes it (`[error]`, `[emerg]`). */
const BRACKET_LEVEL =
  /^(?:\S+\s+){0,3}?\[(trace|debug|info|notice|warn|warning|error|err|fatal|crit|critical|alert|emerg|panic)\]/i;

/** The severity a message states (JSON `level`, `level=`, a leading level word); stderr alone says nothing. */
export function severityOf(message: string): Severity | undefined {
  if (message.startsWith('panic: ')) return 'FATAL'; // Go runtime panics
  const m =
    JSON_LEVEL.exec(message) ??
    KV_LEVEL.exec(message) ??
    WORD_LEVEL.exec(message) ??
    BRACKET_LEVEL.exec(message);
  if (!m) return undefined;
  switch (m[1]!.toUpperCase()) {
    case 'TRACE':
      return 'TRACE';
    case 'DEBUG':
      return 'DEBUG';
    case 'INFO':
    case 'NOTICE':
      return 'INFO';
    case 'WARN':
    case 'WARNING':
      return 'WARN';
    case 'ERROR':
    case 'ERR':
      return 'ERROR';
    case 'FATAL':
    case 'CRITICAL':
    case 'CRIT':
    case 'ALERT':
    case 'EMERG':
    case 'PANIC':
      return 'FATAL';
    default:
      return undefined;
  }
}

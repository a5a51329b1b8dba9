import type { CriRecord } from './criLog.ts';

/**
 * Joins the lines of one multi-line record (a stack trace) into one log record, per file and per stream.
 * A rule says which lines start a record: `start` (a record's first line matches it) or `continuation` (a
 * line that matches it belongs to the record before); with neither, the stack-trace rule
 * STACK_CONTINUATION (indented lines - Java `\tat ...`, `\t... 3 more`, Node `    at ...` - and Java's
 * `Caused by:`). Lines that do not start a record are appended to the pending one, joined with "\n"; a
 * continuation with no record before it starts one (so nothing is dropped after a flush).
 *
 * A record is emitted when the next record starts, when no line arrived for `flushMs` (`flush`, called
 * after each poll: the last stack trace of a quiet file is not held forever) or when the file ends
 * (`flushAll`: rotated, removed, truncated, or a clean shutdown). A record reaching `maxLines` lines or
 * `maxBytes` bytes (UTF-8, with the "\n"s) is emitted at once, cut and flagged `truncated`; its further
 * continuation lines (and the line past `maxLines`) are dropped (counted) until the next record starts.
 *
 * `heldFrom()` is the file offset of the oldest pending record's first line: offsets must not be committed
 * past it, or a restart would lose the lines already joined but not yet shipped.
 */
export interface MultilineRule {
  start?: string;
  continuation?: string;
  maxLines?: number;
  maxBytes?: number;
  flushMs?: number;
}

export const STACK_CONTINUATION = '^(?:\\s|Caused by: )';
export const MULTILINE_DEFAULTS = { maxLines: 500, maxBytes: 64 * 1024, flushMs: 3000 };
/** Longer patterns are refused: a cheap guard against pathological ones, with the test window below. */
export const MAX_PATTERN_CHARS = 256;
/**
 * Patterns are tested against a line's first characters only. That bounds the input, not the pattern: the
 * rule is the operator's configuration, and one with nested quantifiers (`(a+)+$`) can still backtrack
 * for long on a hostile line; Node 20 has no linear-time engine without experimental flags.
 */
const TEST_CHARS = 1024;

export interface CompiledMultiline {
  startsRecord: (line: string) => boolean;
  maxLines: number;
  maxBytes: number;
  flushMs: number;
}

/** Validates a rule; throws `cannot use multiline rule: <cause>`. */
export function compileMultiline(rule: MultilineRule): CompiledMultiline {
  const fail = (cause: string) => new Error(`cannot use multiline rule: ${cause}`);
  if (rule.start !== undefined && rule.continuation !== undefined)
    throw fail('give either start or continuation, not both');
  const source = rule.start ?? rule.continuation ?? STACK_CONTINUATION;
  if (source.length === 0 || source.length > MAX_PATTERN_CHARS)
    throw fail(`the pattern must have 1 to ${MAX_PATTERN_CHARS} characters`);
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (err) {
    throw fail((err as Error).message);
  }
  const { maxLines, maxBytes, flushMs } = { ...MULTILINE_DEFAULTS, ...rule };
  for (const [name, v, min] of [
    ['maxLines', maxLines, 1],
    ['maxBytes', maxBytes, 1],
    ['flushMs', flushMs, 100],
  ] as const)
    if (!Number.isInteger(v) || v < min) throw fail(`${name} must be an integer >= ${min}, not ${v}`);
  const head = (line: string) => (line.length > TEST_CHARS ? line.slice(0, TEST_CHARS) : line);
  const startsRecord =
    rule.start !== undefined ? (l: string) => re.test(head(l)) : (l: string) => !re.test(head(l));
  return { startsRecord, maxLines, maxBytes, flushMs };
}

interface Pending {
  first: CriRecord;
  lines: string[];
  bytes: number;
  truncated: boolean;
  fromOffset: number;
  lastAtMs: number;
}

export class MultilineAssembler {
  private readonly pending = new Map<string, Pending>();
  /** Streams whose record was cut: their continuation lines are dropped until a record starts. */
  private readonly skipping = new Set<string>();

  constructor(
    private readonly rule: CompiledMultiline,
    /** Shared with the owner's metrics. */
    readonly counts = { cutRecords: 0, droppedLines: 0 },
  ) {}

  /** The first line of the oldest pending record (of `stream` when given). */
  heldFrom(stream?: string): number | undefined {
    if (stream !== undefined) return this.pending.get(stream)?.fromOffset;
    let min: number | undefined;
    for (const p of this.pending.values()) if (min === undefined || p.fromOffset < min) min = p.fromOffset;
    return min;
  }

  /** Feeds one complete line or CRI record starting at file offset `offset`; returns the records it completes. */
  push(r: CriRecord, offset: number, nowMs = Date.now()): CriRecord[] {
    const p = this.pending.get(r.stream);
    const starts = this.rule.startsRecord(r.message);
    if (!starts && this.skipping.has(r.stream)) {
      this.counts.droppedLines++;
      return [];
    }
    this.skipping.delete(r.stream);
    if (p && !starts) {
      p.lastAtMs = nowMs;
      p.truncated ||= r.truncated;
      return this.append(p, r.message) ? [] : [this.cut(p)];
    }
    const out = p ? [this.finish(p)] : [];
    const next: Pending = {
      first: r,
      lines: [],
      bytes: -1,
      truncated: r.truncated,
      fromOffset: offset,
      lastAtMs: nowMs,
    };
    this.pending.set(r.stream, next);
    if (!this.append(next, r.message)) out.push(this.cut(next));
    return out;
  }

  /** Emits the records no line was added to for `flushMs`. */
  flush(nowMs = Date.now()): CriRecord[] {
    const out: CriRecord[] = [];
    for (const p of this.pending.values())
      if (nowMs - p.lastAtMs >= this.rule.flushMs) out.push(this.finish(p));
    return out;
  }

  /** Emits every pending record (the file ends, or a clean shutdown). */
  flushAll(): CriRecord[] {
    return [...this.pending.values()].map((p) => this.finish(p));
  }

  /** Adds a line if it fits; false (with what fits of it added) when the record is full. */
  private append(p: Pending, line: string): boolean {
    if (p.lines.length >= this.rule.maxLines) {
      this.counts.droppedLines++;
      return false;
    }
    const room = this.rule.maxBytes - p.bytes - 1; // -1: the "\n" before it (bytes starts at -1)
    const bytes = Buffer.byteLength(line);
    if (bytes <= room) {
      p.lines.push(line);
      p.bytes += 1 + bytes;
      return true;
    }
    // A cut inside a UTF-8 sequence decodes to U+FFFD: drop that half character.
    if (room > 0)
      p.lines.push(
        Buffer.from(line)
          .toString('utf8', 0, room)
          .replace(/\uFFFD$/, ''),
      );
    return false;
  }

  private cut(p: Pending): CriRecord {
    this.counts.cutRecords++;
    this.skipping.add(p.first.stream);
    p.truncated = true;
    return this.finish(p);
  }

  private finish(p: Pending): CriRecord {
    this.pending.delete(p.first.stream);
    return { ...p.first, message: p.lines.join('\n'), truncated: p.truncated };
  }
}

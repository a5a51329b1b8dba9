import { BytesTable, hashLabels } from './bytesTable.ts';

/**
 * Small numbers for senders (the bytes of a series' source labels, e.g. `instance="node-a"`), so each series
 * keeps its per-sender state in a Map keyed by number and the wire path never turns sender labels into a
 * string. Id 0 is "no sender labels". The text of an id (latin1 Label message bytes) is kept for the state
 * file. Ids of senders no series refers to any more are released by `retain()`, called at each flush, so
 * churning senders (restarted pods) do not grow the table forever.
 * Called only from the event loop.
 */
export class SenderIds {
  private readonly byBytes = new BytesTable<number>();
  private readonly byText = new Map<string, number>();
  private readonly text: (string | undefined)[] = [''];
  private readonly hashes: (number | undefined)[] = [undefined];
  private free: number[] = [];

  get size(): number {
    return this.byText.size;
  }

  /** The id of the sender whose labels are the concatenated `runs` of `buf` (a new id on first sight). */
  ofRuns(hash: number, length: number, buf: Buffer, runs: readonly number[]): number {
    if (length === 0) return 0;
    const found = this.byBytes.find(hash, length, buf, runs);
    if (found !== undefined) return found;
    let text = '';
    for (let r = 0; r < runs.length; r += 2) text += buf.toString('latin1', runs[r], runs[r + 1]);
    return this.create(text, hash);
  }

  /** The id of a sender given as its label messages (latin1 text, `labelBytes` output), or any other text. */
  ofText(labels: readonly string[]): number {
    const text = labels.join('');
    if (text === '') return 0;
    const known = this.byText.get(text);
    if (known !== undefined) return known;
    return this.create(text, hashLabels(labels).hash);
  }

  /** A sender made of an id and a suffix (an overflow series keeps each original series apart). */
  composite(id: number, suffix: string): number {
    return this.ofOpaque(`${this.textOf(id)}|${suffix}`);
  }

  /** The id of a sender's text as `textOf()` gave it (the state file): label sequences stay findable by bytes. */
  ofStoredText(text: string): number {
    const labels = splitLabelMessages(text);
    return labels ? this.ofText(labels) : this.ofOpaque(text);
  }

  /** An id for text that is not a label sequence (a composite). */
  private ofOpaque(text: string): number {
    if (text === '') return 0;
    return this.byText.get(text) ?? this.create(text, undefined);
  }

  textOf(id: number): string {
    return this.text[id] ?? '';
  }

  /** Releases every id not in `live`; returns how many it released. */
  retain(live: Set<number>): number {
    let released = 0;
    for (let id = 1; id < this.text.length; id++) {
      const t = this.text[id];
      if (t === undefined || live.has(id)) continue;
      this.byText.delete(t);
      const h = this.hashes[id];
      if (h !== undefined) this.byBytes.delete(h, id);
      this.text[id] = undefined;
      this.free.push(id);
      released++;
    }
    return released;
  }

  private create(text: string, hash: number | undefined): number {
    const id = this.free.pop() ?? this.text.length;
    this.text[id] = text;
    this.hashes[id] = hash;
    this.byText.set(text, id);
    if (hash !== undefined) this.byBytes.add(hash, Buffer.from(text, 'latin1'), id);
    return id;
  }
}

/**
 * Splits latin1 text into whole Label messages (tag 0x0a name, optional tag 0x12 value), or undefined when it
 * is not exactly such a sequence. Lengths are single-byte or multi-byte varints.
 */
export function splitLabelMessages(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const varint = (): number | undefined => {
    let x = 0;
    for (let shift = 0; shift < 35 && i < text.length; shift += 7) {
      const b = text.charCodeAt(i++);
      x += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return x;
    }
    return undefined;
  };
  while (i < text.length) {
    const start = i;
    if (text.charCodeAt(i++) !== 0x0a) return undefined;
    const n = varint();
    if (n === undefined || i + n > text.length) return undefined;
    i += n;
    if (i < text.length && text.charCodeAt(i) === 0x12) {
      i++;
      const v = varint();
      if (v === undefined || i + v > text.length) return undefined;
      i += v;
    }
    out.push(text.slice(start, i));
  }
  return out;
}

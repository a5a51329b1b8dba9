import { describe, expect, it } from 'vitest';
import { type BodyFrame, coalesce } from './coalesce.ts';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const sizes = (frames: BodyFrame[]) => frames.map((f) => [f.bytes, f.last]);
async function collect(source: AsyncIterable<Uint8Array>, max = 10, quietMs = 1000) {
  const out: BodyFrame[] = [];
  for await (const f of coalesce(source, max, quietMs)) out.push({ ...f, parts: [...f.parts] });
  return out;
}
async function* pieces(list: Uint8Array[], gapMs = 0) {
  for (const p of list) {
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    yield p;
  }
}

describe('coalesce', () => {
  it('gathers small pieces that come at once into one last frame (a whole answer)', async () => {
    const frames = await collect(pieces([bytes(2), bytes(3), bytes(4)]));
    expect(sizes(frames)).toEqual([[9, true]]);
    expect(Buffer.concat(frames[0]!.parts)).toEqual(Buffer.from(bytes(9)));
  });

  it('fills frames to the limit, splitting pieces, and keeps every byte in order', async () => {
    const input = [bytes(7, 1), bytes(7, 2), bytes(25, 3)];
    const frames = await collect(pieces(input));
    expect(sizes(frames)).toEqual([
      [10, false],
      [10, false],
      [10, false],
      [9, true],
    ]);
    expect(Buffer.concat(frames.flatMap((f) => f.parts))).toEqual(Buffer.concat(input));
  });

  it('an empty body is one empty last frame; a body ending on a frame boundary ends with an empty one', async () => {
    expect(sizes(await collect(pieces([])))).toEqual([[0, true]]);
    expect(sizes(await collect(pieces([bytes(10)])))).toEqual([
      [10, false],
      [0, true],
    ]);
  });

  it('sends what it has when the source goes quiet, so a slow stream still streams', async () => {
    const frames = await collect(pieces([bytes(2), bytes(2), bytes(2)], 60), 100, 5);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames.reduce((n, f) => n + f.bytes, 0)).toBe(6);
    expect(frames.at(-1)!.last).toBe(true);
  });

  it('stopping early releases the source', async () => {
    let released = false;
    async function* endless() {
      try {
        for (;;) yield bytes(4);
      } finally {
        released = true;
      }
    }
    for await (const f of coalesce(endless(), 10, 1000)) {
      expect(f.bytes).toBe(10);
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(true);
  });
});

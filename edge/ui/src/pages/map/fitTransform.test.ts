import { describe, expect, it } from 'vitest';
import { fitTransform, MIN_ZOOM } from './useMapZoom.ts';

describe('fitTransform', () => {
  it.each([
    // content, frame -> scale and the centred offsets (16 px margin)
    { content: [400, 200], frame: [1000, 500], k: 1, x: 300, y: 150 },
    { content: [2000, 400], frame: [1032, 500], k: 0.5, x: 16, y: 150 },
    { content: [500, 1000], frame: [800, 532], k: 0.5, x: 275, y: 16 },
  ])('fits $content in $frame', ({ content, frame, k, x, y }) => {
    const t = fitTransform(
      { width: content[0]!, height: content[1]! },
      { width: frame[0]!, height: frame[1]! },
    );
    expect(t).toEqual({ k, x, y });
  });

  it('never shrinks below the zoom limit and survives empty sizes', () => {
    expect(fitTransform({ width: 100_000, height: 10 }, { width: 500, height: 500 }).k).toBe(MIN_ZOOM);
    expect(fitTransform({ width: 0, height: 0 }, { width: 500, height: 500 })).toEqual({ x: 0, y: 0, k: 1 });
    expect(fitTransform({ width: 10, height: 10 }, { width: 0, height: 300 })).toEqual({ x: 0, y: 0, k: 1 });
  });
});

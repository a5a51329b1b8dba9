/**
 * Pan and zoom of the service map with d3-zoom: drag to pan, wheel or pinch to zoom (around the pointer),
 * double-click zooms in; the buttons and the keyboard (+ and - zoom, arrows pan, 0 fits) do the same. The map
 * starts fitted to its frame and fits again when the layout or the frame changes. A node that gets the
 * keyboard focus outside the frame is brought into view. Once the user has moved the view, a change of the
 * frame's size alone keeps it; "Fit to view" and 0 fit again.
 *
 * d3-zoom owns the transform (it keeps it on the <svg> element); React only mirrors it into state to draw.
 */
import { select } from 'd3-selection';
import { type D3ZoomEvent, type ZoomTransform, zoom, zoomIdentity } from 'd3-zoom';
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';

export const MIN_ZOOM = 0.2;
export const MAX_ZOOM = 4;
const STEP = 1.25;
const PAN_PX = 80;
/** Room kept around the drawing when fitting, in screen pixels. */
const MARGIN = 16;

export interface Size {
  width: number;
  height: number;
}

/** The transform that shows all of `content` centred in `frame`, never enlarged past 100 %. */
export function fitTransform(content: Size, frame: Size): { x: number; y: number; k: number } {
  if (content.width <= 0 || content.height <= 0 || frame.width <= 0 || frame.height <= 0) {
    return { x: 0, y: 0, k: 1 };
  }
  const k = Math.max(
    MIN_ZOOM,
    Math.min(1, (frame.width - 2 * MARGIN) / content.width, (frame.height - 2 * MARGIN) / content.height),
  );
  return { x: (frame.width - content.width * k) / 2, y: (frame.height - content.height * k) / 2, k };
}

export function useMapZoom(svg: SVGSVGElement | null, content: Size, frame: Size) {
  // Plain numbers, so the callbacks below change only when a size does (the objects are new every render).
  const { width: cw, height: ch } = content;
  const { width: fw, height: fh } = frame;
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const behavior = useMemo(
    () =>
      zoom<SVGSVGElement, unknown>()
        .scaleExtent([MIN_ZOOM, MAX_ZOOM])
        // A press that moves less than this is still a click (a node is a link).
        .clickDistance(4),
    [],
  );
  // Once the user has moved the view, a new frame size (a scrollbar, a resized window) keeps their view;
  // a new layout (other filters, new data) starts fitted again.
  const userMoved = useRef(false);
  useEffect(() => {
    if (!svg) return;
    const sel = select(svg);
    behavior.on('zoom', (e: D3ZoomEvent<SVGSVGElement, unknown>) => {
      if (e.sourceEvent) userMoved.current = true;
      setTransform(e.transform);
    });
    sel.call(behavior);
    return () => {
      sel.on('.zoom', null);
      behavior.on('zoom', null);
    };
  }, [svg, behavior]);

  const fitToView = useCallback(() => {
    if (!svg) return;
    const t = fitTransform({ width: cw, height: ch }, { width: fw, height: fh });
    behavior.transform(select(svg), zoomIdentity.translate(t.x, t.y).scale(t.k));
  }, [svg, behavior, cw, ch, fw, fh]);
  const fitRef = useRef(fitToView);
  fitRef.current = fitToView;
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the svg appears or the layout's size changes
  useEffect(() => {
    userMoved.current = false;
    fitRef.current();
  }, [svg, cw, ch]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the frame's size changes
  useEffect(() => {
    if (!userMoved.current) fitRef.current();
  }, [fw, fh]);

  const zoomBy = useCallback(
    (factor: number) => {
      if (!svg) return;
      userMoved.current = true;
      behavior.scaleBy(select(svg), factor, [fw / 2, fh / 2]);
    },
    [svg, behavior, fw, fh],
  );
  const panBy = useCallback(
    (dx: number, dy: number) => {
      if (!svg) return;
      const k = transform.k;
      userMoved.current = true;
      behavior.translateBy(select(svg), dx / k, dy / k);
    },
    [svg, behavior, transform.k],
  );

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case '+':
      case '=':
        zoomBy(STEP);
        break;
      case '-':
      case '_':
        zoomBy(1 / STEP);
        break;
      case '0':
        fitToView();
        break;
      case 'ArrowLeft':
        panBy(PAN_PX, 0);
        break;
      case 'ArrowRight':
        panBy(-PAN_PX, 0);
        break;
      case 'ArrowUp':
        panBy(0, PAN_PX);
        break;
      case 'ArrowDown':
        panBy(0, -PAN_PX);
        break;
      default:
        return;
    }
    // The page must not scroll as well.
    e.preventDefault();
  };

  /** Centres a point of the drawing when it is outside the frame (a node focused by Tab). */
  const reveal = (x: number, y: number) => {
    if (!svg) return;
    const [sx, sy] = transform.apply([x, y]);
    if (sx < MARGIN || sy < MARGIN || sx > fw - MARGIN || sy > fh - MARGIN) {
      behavior.translateTo(select(svg), x, y);
    }
  };

  return {
    transform,
    zoomIn: () => zoomBy(STEP),
    zoomOut: () => zoomBy(1 / STEP),
    fit: fitToView,
    onKeyDown,
    reveal,
  };
}

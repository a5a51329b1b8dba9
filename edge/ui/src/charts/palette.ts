/**
 * Series colours: distinguishable on white, readable for the common colour-vision deficiencies (after the
 * Okabe-Ito and Tableau 10 sets), in a fixed order so the same series keeps its colour across refreshes.
 */
export const PALETTE = [
  '#1f77b4',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#d62728',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];

/** The semantic colours of RED charts. */
export const RED_COLORS = {
  requests: '#1f7a5a',
  errors: '#d64545',
  p50: '#3b82f6',
  p95: '#f59e0b',
  p99: '#9333ea',
} as const;

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** `#rrggbb` with an alpha, for area fills. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255)
    .toString(16)
    .padStart(2, '0');
  return `${hex}${a}`;
}

/** The colour bar of the heatmap figure: the colormap from low (bottom) to high (top), ticks, label, note. */
import { formatTick, type ValueRange } from './color-scale.js';
import { FIGURE_MUTED, FIGURE_TEXT } from './heatmap-style.js';
import type { HeatmapLayout } from './heatmap-layout.js';
import { round2, xmlEscape } from './svg-markup.js';

export interface ColorbarContent {
  /** The colormap's `#rrggbb` entries, low to high. */
  colors: readonly string[];
  range: ValueRange;
  ticks: readonly number[];
  label: string;
  note: string | null;
}

export function colorbarSvg(layout: HeatmapLayout, content: ColorbarContent): string[] {
  const { bar } = layout;
  const step = bar.h / content.colors.length;
  const out = ['<g shape-rendering="crispEdges">'];
  content.colors.forEach((color, i) => {
    const y = bar.y + bar.h - (i + 1) * step;
    out.push(`<rect x="${bar.x}" y="${round2(y)}" width="${bar.w}" height="${round2(step + 0.5)}" fill="${color}"/>`);
  });
  out.push('</g>');
  out.push(
    `<rect x="${bar.x}" y="${bar.y}" width="${bar.w}" height="${bar.h}" fill="none" stroke="${FIGURE_MUTED}" stroke-width="0.5"/>`,
  );
  const [lo, hi] = content.range;
  for (const tick of content.ticks) {
    const y = round2(bar.y + bar.h - ((tick - lo) / (hi - lo)) * bar.h);
    out.push(
      `<line x1="${bar.x + bar.w}" y1="${y}" x2="${layout.tickX - 3}" y2="${y}" stroke="${FIGURE_MUTED}"/>`,
      `<text x="${layout.tickX}" y="${y}" dominant-baseline="central" fill="${FIGURE_TEXT}">${formatTick(tick)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${layout.barLabelX} ${round2(bar.y + bar.h / 2)}) rotate(-90)" text-anchor="middle" fill="${FIGURE_MUTED}">${xmlEscape(content.label)}</text>`,
  );
  if (content.note !== null && layout.note) {
    out.push(
      `<text x="${layout.note.x}" y="${layout.note.y}" fill="${FIGURE_MUTED}" font-size="${layout.noteFontSize}">${xmlEscape(content.note)}</text>`,
    );
  }
  return out;
}

/**
 * Where everything of the heatmap figure goes, sized from the text it holds so that nothing is
 * cut at any label length: the title line, the row title (along the rows when they are tall
 * enough for it, else above them), layer names, the column title, and the colour bar with its
 * ticks, label and clamping note. Numbers only; heatmap-svg.ts writes the markup.
 */
import { ASCENT, DESCENT, textWidth, widestText } from './text-extent.js';

export interface HeatmapLayoutInput {
  rows: number;
  cols: number;
  /** Layer names as drawn (already shortened). */
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** The axis titles as drawn, e.g. "rows: model A: resnet18.onnx". */
  rowTitle: string;
  colTitle: string;
  /** The line above the plot; empty for none. */
  title: string;
  colorbarLabel: string;
  tickLabels: readonly string[];
  /** Said under the colour bar when values fall outside its range; null for none. */
  note: string | null;
  /** Px of labels and axis titles; the title is 2 px larger, the note 2 px smaller. */
  fontSize: number;
  /** Cell edge in px (default: the larger side fits into about 640 px, 2–28 px a cell). */
  cellSize?: number;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  fontSize: number;
  titleFontSize: number;
  noteFontSize: number;
  cell: number;
  /** Every labelStep-th layer is named: closer names would overlap. */
  labelStep: number;
  plot: Box;
  bar: Box;
  /** Baseline start of the title line, or null for none. */
  title: Point | null;
  /** Along the rows: the baseline of the turned text, centred on the plot; above: its baseline start. */
  rowTitle: Point & { along: boolean };
  /** Centre of the column title's baseline. */
  colTitle: Point;
  /** Right end of the row names, top end of the (turned) column names. */
  rowLabelX: number;
  colLabelY: number;
  /** Start of the tick labels, and the baseline of the turned colour-bar label. */
  tickX: number;
  barLabelX: number;
  note: Point | null;
}

const MARGIN = 8;
/** Between the plot and the layer names. */
const LABEL_GAP = 5;
const BAR_GAP = 18;
const BAR_WIDTH = 14;
const BAR_MIN_HEIGHT = 120;
const TICK_LENGTH = 4;

export function defaultCellSize(rows: number, cols: number): number {
  return Math.min(28, Math.max(2, Math.round(640 / Math.max(rows, cols, 1))));
}

export function layoutHeatmap(input: HeatmapLayoutInput): HeatmapLayout {
  const f = input.fontSize;
  const titleFontSize = f + 2;
  const noteFontSize = Math.max(6, f - 2);
  const ascent = Math.ceil(f * ASCENT);
  const descent = Math.ceil(f * DESCENT);
  const cell = input.cellSize ?? defaultCellSize(input.rows, input.cols);
  const plotW = input.cols * cell;
  const plotH = input.rows * cell;

  const title = input.title ? { x: 0, y: MARGIN + Math.ceil(titleFontSize * ASCENT) } : null;
  let top = title ? title.y + Math.ceil(titleFontSize * DESCENT) + 6 : MARGIN;

  const rowTitleWidth = textWidth(input.rowTitle, f, true);
  const along = plotH >= rowTitleWidth + 10;
  let left = MARGIN;
  let rowTitle: HeatmapLayout['rowTitle'];
  if (along) {
    // Turned a quarter left, the glyphs rise from the baseline towards x = 0.
    rowTitle = { along, x: MARGIN + ascent, y: 0 };
    left = rowTitle.x + descent + 4;
  } else {
    rowTitle = { along, x: MARGIN, y: top + ascent };
    top = rowTitle.y + descent + 6;
  }

  const rowLabelWidth = Math.ceil(widestText(input.rowLabels, f));
  const colLabelWidth = Math.ceil(widestText(input.colLabels, f));
  const plot = { x: left + rowLabelWidth + LABEL_GAP + 3, y: top, w: plotW, h: plotH };
  if (along) rowTitle.y = plot.y + plot.h / 2;
  if (title) title.x = plot.x;

  const colLabelY = plot.y + plot.h + LABEL_GAP;
  const colTitleWidth = textWidth(input.colTitle, f, true);
  const colTitle = {
    x: Math.max(plot.x + plot.w / 2, MARGIN + colTitleWidth / 2),
    y: colLabelY + colLabelWidth + 6 + ascent,
  };

  // The turned colour-bar label is centred on the bar: the bar is at least as tall as it.
  const barLabelWidth = textWidth(input.colorbarLabel, f);
  const bar = {
    x: plot.x + plot.w + BAR_GAP,
    y: plot.y,
    w: BAR_WIDTH,
    h: Math.max(plot.h, BAR_MIN_HEIGHT, Math.ceil(barLabelWidth) + 8),
  };
  const tickX = bar.x + bar.w + TICK_LENGTH + 3;
  const barLabelX = Math.ceil(tickX + widestText(input.tickLabels, f) + 6 + ascent);
  const note = input.note === null ? null : { x: bar.x, y: bar.y + bar.h + 4 + Math.ceil(noteFontSize * ASCENT) };

  const right = Math.max(
    barLabelX + descent,
    note ? note.x + textWidth(input.note ?? '', noteFontSize) : 0,
    title ? title.x + textWidth(input.title, titleFontSize, true) : 0,
    along ? 0 : rowTitle.x + rowTitleWidth,
    colTitle.x + colTitleWidth / 2,
  );
  const bottom = Math.max(
    colTitle.y + descent,
    bar.y + bar.h + f / 2,
    note ? note.y + Math.ceil(noteFontSize * DESCENT) : 0,
  );
  return {
    width: Math.ceil(right + MARGIN),
    height: Math.ceil(bottom + MARGIN),
    fontSize: f,
    titleFontSize,
    noteFontSize,
    cell,
    labelStep: Math.ceil((f + 1) / cell),
    plot,
    bar,
    title,
    rowTitle,
    colTitle,
    rowLabelX: plot.x - LABEL_GAP,
    colLabelY,
    tickX,
    barLabelX,
    note,
  };
}

/** Top edge of a row's cells (row 0 at the top). */
export function rowTop(layout: HeatmapLayout, row: number): number {
  return layout.plot.y + row * layout.cell;
}

/** Left edge of a column's cells. */
export function colLeft(layout: HeatmapLayout, col: number): number {
  return layout.plot.x + col * layout.cell;
}

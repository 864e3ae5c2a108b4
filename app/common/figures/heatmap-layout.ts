/**
 * Where everything of the heatmap figure goes, sized from the text it holds so that nothing is
 * cut at any label length: the title (wrapped), the row title (along the rows when they are tall
 * enough for it, else above them, wrapped), layer names, the column title (wrapped), and the
 * colour bar with its ticks, label and clamping note. Cells are square, or share a square plot;
 * the figure takes the width asked for, or the width its cells need. Numbers only; heatmap-svg.ts
 * writes the markup.
 */
import { ASCENT, DESCENT, textWidth, widestText, wrapText } from './text-extent.js';

export interface HeatmapLayoutInput {
  rows: number;
  cols: number;
  /** Layer names (or indices) as drawn (already shortened). */
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** The axis titles as drawn, e.g. "rows: model A: resnet18.onnx". */
  rowTitle: string;
  colTitle: string;
  /** The line above the plot (wrapped to the figure); empty for none. */
  title: string;
  colorbarLabel: string;
  tickLabels: readonly string[];
  /** Said under the colour bar when values fall outside its range; null for none. */
  note: string | null;
  /** Px of labels and axis titles; the title is 2 px larger, the note 2 px smaller. */
  fontSize: number;
  /** Cell edge in px when no width is asked for (default: the larger side fits into about 640 px). */
  cellSize?: number;
  /** The figure's width in px: the cells take what the text leaves (at least 1 px each). */
  width?: number;
  /** Square cells (default), or a square plot whose cells are as wide as cols and as tall as rows allow. */
  squareCells?: boolean;
  /** Where row 0 is: at the top (default, as a matrix is printed) or at the bottom (as a plot's y axis). */
  origin?: 'top' | 'bottom';
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

/** One line of text: where its baseline starts (or, for centred text, its centre). */
export interface TextLine extends Point {
  text: string;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  fontSize: number;
  titleFontSize: number;
  noteFontSize: number;
  /** Cell width and height in px (equal for square cells). */
  cellW: number;
  cellH: number;
  rows: number;
  origin: 'top' | 'bottom';
  /** Every k-th row / column is named: closer names would overlap. */
  rowLabelStep: number;
  colLabelStep: number;
  plot: Box;
  bar: Box;
  /** The title's lines (baseline starts); empty for none. */
  title: TextLine[];
  /** Along the rows: one line, the baseline of the turned text centred on the plot. Above: its lines' baseline starts. */
  rowTitle: { along: true; line: TextLine } | { along: false; lines: TextLine[] };
  /** The column title's lines: centres of their baselines. */
  colTitle: TextLine[];
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
/** Without a width asked for, long titles wrap at the figure's width or at this, whichever is wider. */
const MIN_WRAP_WIDTH = 560;
/** A title that starting over the plot would have less room than this starts at the margin. */
const MIN_TITLE_ROOM = 240;

export function defaultCellSize(rows: number, cols: number): number {
  return Math.min(28, Math.max(2, Math.round(640 / Math.max(rows, cols, 1))));
}

const floor2 = (v: number) => Math.floor(v * 100) / 100;

export function layoutHeatmap(input: HeatmapLayoutInput): HeatmapLayout {
  const f = input.fontSize;
  const titleFontSize = f + 2;
  const noteFontSize = Math.max(6, f - 2);
  const ascent = Math.ceil(f * ASCENT);
  const descent = Math.ceil(f * DESCENT);
  const square = input.squareCells ?? true;
  const rows = Math.max(input.rows, 1);
  const cols = Math.max(input.cols, 1);

  const rowLabelWidth = Math.ceil(widestText(input.rowLabels, f));
  const colLabelWidth = Math.ceil(widestText(input.colLabels, f));
  const tickLabelWidth = widestText(input.tickLabels, f);
  // From the plot's right edge to the figure's: colour bar, ticks, their labels, the turned label.
  const rightOfPlot = Math.ceil(BAR_GAP + BAR_WIDTH + TICK_LENGTH + 3 + tickLabelWidth + 6 + ascent) + descent + MARGIN;

  /** Cell sizes when the plot starts `left` px from the figure's edge. */
  const cells = (left: number): { cellW: number; cellH: number } => {
    let cellW: number;
    if (input.width !== undefined) cellW = Math.max(1, floor2((input.width - left - rightOfPlot) / cols));
    else cellW = input.cellSize ?? defaultCellSize(input.rows, input.cols);
    if (square) return { cellW, cellH: cellW };
    // A square plot: as wide as the columns need (or as the width allows), rows share its height.
    const side = input.width !== undefined ? cellW * cols : cellW * Math.max(rows, cols);
    return { cellW: floor2(side / cols), cellH: floor2(side / rows) };
  };

  const rowTitleWidth = textWidth(input.rowTitle, f, true);
  const labelsWidth = rowLabelWidth + LABEL_GAP + 3;
  const alongLeft = MARGIN + ascent + descent + 4 + labelsWidth;
  let { cellW, cellH } = cells(alongLeft);
  const along = input.rows * cellH >= rowTitleWidth + 10;
  if (!along) ({ cellW, cellH } = cells(MARGIN + labelsWidth));
  const plotW = input.cols * cellW;
  const plotH = input.rows * cellH;
  const plotX = along ? alongLeft : MARGIN + labelsWidth;

  // The width lines may take: what was asked for, or what the plot and bar need (at least MIN_WRAP_WIDTH).
  const bodyRight = plotX + plotW + rightOfPlot - MARGIN;
  const lineRight = input.width !== undefined ? input.width - MARGIN : Math.max(bodyRight, MARGIN + MIN_WRAP_WIDTH);
  const lineWidth = Math.max(lineRight - MARGIN, 40);

  let top = MARGIN;
  const titleX = lineRight - plotX >= MIN_TITLE_ROOM ? plotX : MARGIN;
  const title: TextLine[] = [];
  if (input.title) {
    const titleAscent = Math.ceil(titleFontSize * ASCENT);
    const step = Math.ceil(titleFontSize * 1.25);
    wrapText(input.title, lineRight - titleX, titleFontSize, true).forEach((text, i) =>
      title.push({ x: titleX, y: top + titleAscent + i * step, text }),
    );
    top = title.at(-1)!.y + Math.ceil(titleFontSize * DESCENT) + 6;
  }

  const lineStep = Math.ceil(f * 1.25);
  let rowTitle: HeatmapLayout['rowTitle'];
  if (along) {
    // Turned a quarter left, the glyphs rise from the baseline towards x = 0.
    rowTitle = { along, line: { x: MARGIN + ascent, y: top + plotH / 2, text: input.rowTitle } };
  } else {
    const lines = wrapText(input.rowTitle, lineWidth, f, true).map((text, i) => ({
      x: MARGIN,
      y: top + ascent + i * lineStep,
      text,
    }));
    rowTitle = { along, lines };
    top = lines.at(-1)!.y + descent + 6;
  }
  const plot = { x: plotX, y: top, w: plotW, h: plotH };

  const colLabelY = plot.y + plot.h + LABEL_GAP;
  const colTitleTop = colLabelY + colLabelWidth + 6 + ascent;
  const colTitle = wrapText(input.colTitle, lineWidth, f, true).map((text, i) => {
    const w = textWidth(text, f, true);
    let x = Math.max(plot.x + plot.w / 2, MARGIN + w / 2);
    if (input.width !== undefined) x = Math.min(x, lineRight - w / 2);
    return { x, y: colTitleTop + i * lineStep, text };
  });

  // The turned colour-bar label is centred on the bar: the bar is at least as tall as it.
  const barLabelWidth = textWidth(input.colorbarLabel, f);
  const bar = {
    x: plot.x + plot.w + BAR_GAP,
    y: plot.y,
    w: BAR_WIDTH,
    h: Math.max(plot.h, BAR_MIN_HEIGHT, Math.ceil(barLabelWidth) + 8),
  };
  const tickX = bar.x + bar.w + TICK_LENGTH + 3;
  const barLabelX = Math.ceil(tickX + tickLabelWidth + 6 + ascent);
  const note = input.note === null ? null : { x: bar.x, y: bar.y + bar.h + 4 + Math.ceil(noteFontSize * ASCENT) };

  const right = Math.max(
    barLabelX + descent,
    note ? note.x + textWidth(input.note ?? '', noteFontSize) : 0,
    ...title.map((l) => l.x + textWidth(l.text, titleFontSize, true)),
    ...(rowTitle.along ? [] : rowTitle.lines.map((l) => l.x + textWidth(l.text, f, true))),
    ...colTitle.map((l) => l.x + textWidth(l.text, f, true) / 2),
  );
  const bottom = Math.max(
    colTitle.at(-1)!.y + descent,
    bar.y + bar.h + f / 2,
    note ? note.y + Math.ceil(noteFontSize * DESCENT) : 0,
  );
  return {
    width: Math.max(Math.ceil(right + MARGIN), input.width ?? 0),
    height: Math.ceil(bottom + MARGIN),
    fontSize: f,
    titleFontSize,
    noteFontSize,
    cellW,
    cellH,
    rows: input.rows,
    origin: input.origin ?? 'top',
    rowLabelStep: Math.ceil((f + 1) / cellH),
    colLabelStep: Math.ceil((f + 1) / cellW),
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

/** Top edge of a row's cells: row 0 at the top, or at the bottom with origin "bottom". */
export function rowTop(layout: HeatmapLayout, row: number): number {
  const slot = layout.origin === 'bottom' ? layout.rows - 1 - row : row;
  return layout.plot.y + slot * layout.cellH;
}

/** Left edge of a column's cells. */
export function colLeft(layout: HeatmapLayout, col: number): number {
  return layout.plot.x + col * layout.cellW;
}

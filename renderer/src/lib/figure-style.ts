/**
 * How exported figures are laid out — axis labels, origin, cell shape, font size, width — as the
 * export menu edits it, and as the figure options a request carries.
 */
import type { FigureOptions } from '@common/contract.js';

export type FigureStyle = Required<Pick<FigureOptions, 'axisLabels' | 'origin' | 'squareCells' | 'fontSize'>> & {
  /** null: the width the cells need. */
  width: number | null;
};

export const DEFAULT_FIGURE_STYLE: Readonly<FigureStyle> = {
  axisLabels: 'names',
  origin: 'top',
  squareCells: true,
  fontSize: 11,
  width: null,
};

/** The style as figure options, defaults left out (a default figure's request stays short). */
export function styleOptions(style: FigureStyle): FigureOptions {
  const options: FigureOptions = {};
  if (style.axisLabels !== 'names') options.axisLabels = style.axisLabels;
  if (style.origin !== 'top') options.origin = style.origin;
  if (!style.squareCells) options.squareCells = false;
  if (style.fontSize !== DEFAULT_FIGURE_STYLE.fontSize) options.fontSize = style.fontSize;
  if (style.width !== null) options.width = style.width;
  return options;
}

/**
 * The figure style of the session: chosen once in an export menu, kept for every figure (a
 * paper's figures share a style). Colours, scale and markers stay each view's own.
 */
import { DEFAULT_FIGURE_STYLE, type FigureStyle } from '../lib/figure-style';

export const figureStyle: FigureStyle = $state({ ...DEFAULT_FIGURE_STYLE });

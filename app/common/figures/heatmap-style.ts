/** Colours with a fixed meaning in every heatmap (screen, PNG, SVG), independent of the theme. */

/** Undefined cells: a neutral grey no perceptual colormap uses, with lighter hatching. */
export const NULL_FILL = '#8c9199';
export const NULL_HATCH = '#d0d3d8';

/** Best-match markers: white with a dark ring (no viridis/magma entry is pure white). */
export const MARKER_FILL = '#ffffff';
export const MARKER_RING = '#111111';

/** Ink of the SVG figure (always on white, whatever the app's theme). */
export const FIGURE_TEXT = '#1d1f23';
export const FIGURE_MUTED = '#646a73';
export const FIGURE_BACKGROUND = '#ffffff';
export const FIGURE_FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";

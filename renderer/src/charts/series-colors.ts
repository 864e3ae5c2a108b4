/** Line colours that read on both light and dark backgrounds. */
export const SERIES_COLORS = { primary: '#4c78dd', secondary: '#e0803c', reference: '#8c9199' } as const;

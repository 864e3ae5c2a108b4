/**
 * The application menu's "Export…" (Electron) opens the export choices of the view on screen. A
 * view that can export registers here while it is mounted; the last one registered wins.
 */
type OpenExport = () => void;

/** The figure (png, svg) or the numbers (csv, json). */
export type ExportKind = 'png' | 'svg' | 'csv' | 'json';

const targets: OpenExport[] = [];

export function provideExport(open: OpenExport): () => void {
  targets.push(open);
  return () => {
    const index = targets.lastIndexOf(open);
    if (index >= 0) targets.splice(index, 1);
  };
}

/** Opens the current view's export choices; false when nothing on screen can be exported. */
export function requestExport(): boolean {
  const open = targets.at(-1);
  open?.();
  return open !== undefined;
}

/**
 * Exports leave the page as downloads of blob URLs it made itself; Electron then shows the native
 * save dialog. Any other download (a link to the web, a data URL) is refused.
 */
import type { Session } from 'electron';
import { isAppBlobUrl } from './security.js';

const FILTERS: Record<string, { name: string; extensions: string[] }> = {
  png: { name: 'PNG image', extensions: ['png'] },
  svg: { name: 'SVG image', extensions: ['svg'] },
  csv: { name: 'CSV table', extensions: ['csv'] },
  json: { name: 'JSON', extensions: ['json'] },
};

export function guardDownloads(session: Session): void {
  session.on('will-download', (event, item) => {
    if (!isAppBlobUrl(item.getURL())) {
      event.preventDefault();
      return;
    }
    const name = item.getFilename();
    const filter = FILTERS[name.split('.').pop()?.toLowerCase() ?? ''];
    item.setSaveDialogOptions({
      title: 'Export',
      defaultPath: name,
      filters: filter ? [filter] : [],
    });
  });
}

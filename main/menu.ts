/** The application menu: Open Model…, Open Recent, Export, Quit, with the usual shortcuts. */
import { Menu, app, type MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openModel(): void;
  openRecent(path: string): void;
  clearRecent(): void;
  exportResult(): void;
  recent(): string[];
}

export function buildMenu(actions: MenuActions): Menu {
  const recent = actions.recent();
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Model…', accelerator: 'CmdOrCtrl+O', click: () => actions.openModel() },
        {
          label: 'Open Recent',
          submenu:
            recent.length > 0
              ? [
                  ...recent.map((path) => ({ label: path, click: () => actions.openRecent(path) })),
                  { type: 'separator' as const },
                  { label: 'Clear Recent', click: () => actions.clearRecent() },
                ]
              : [{ label: 'No recent models', enabled: false }],
        },
        { type: 'separator' },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => actions.exportResult() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit', accelerator: 'CmdOrCtrl+Q', click: () => app.quit() },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}

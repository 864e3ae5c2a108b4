import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, RENDERER_CSP, isAppUrl, secureWebPreferences } from '../../main/security.js';

describe('Electron security defaults', () => {
  it('isolates and sandboxes the renderer with no Node access', () => {
    const prefs = secureWebPreferences('/app/preload.cjs');
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
    });
  });

  it('has a strict CSP: own scripts only, no eval, no inline code, no remote content', () => {
    const directives = Object.fromEntries(
      RENDERER_CSP.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values];
      }),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(RENDERER_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(directives['object-src']).toEqual(["'none'"]);
  });

  it('treats only the app origin as its own', () => {
    expect(isAppUrl(`${APP_ORIGIN}/index.html`)).toBe(true);
    for (const url of ['https://example.com', 'file:///etc/passwd', 'app://other/index.html', 'not a url']) {
      expect(isAppUrl(url)).toBe(false);
    }
  });
});

/**
 * Where the app is, kept in the location hash so a reload (or the back button) comes back to the
 * same view: `#/models`, `#/experiment`, `#/runs`, `#/runs/RUN`, `#/compare/RUN_A/RUN_B`.
 */
export type Route =
  | { view: 'models' }
  | { view: 'experiment' }
  | { view: 'runs'; runId: string | null }
  | { view: 'compare'; a: string; b: string };

const ID = /^[A-Za-z0-9_-]{1,80}$/;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [view, first, second] = parts;
  if (view === 'experiment') return { view: 'experiment' };
  if (view === 'runs') return { view: 'runs', runId: first && ID.test(first) ? first : null };
  if (view === 'compare' && first && second && ID.test(first) && ID.test(second)) {
    return { view: 'compare', a: first, b: second };
  }
  return { view: 'models' };
}

export function formatRoute(route: Route): string {
  switch (route.view) {
    case 'models':
      return '#/models';
    case 'experiment':
      return '#/experiment';
    case 'runs':
      return route.runId ? `#/runs/${encodeURIComponent(route.runId)}` : '#/runs';
    case 'compare':
      return `#/compare/${encodeURIComponent(route.a)}/${encodeURIComponent(route.b)}`;
  }
}

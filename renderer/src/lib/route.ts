/**
 * Where the app is, kept in the location hash so a reload (or the back button) comes back to the
 * same view: `#/models`, `#/experiment`, `#/runs`, `#/runs/RUN`, `#/compare/RUN_1/RUN_2[/…]` (2 to
 * MAX_COMPARED runs).
 */
export type Route =
  | { view: 'models' }
  | { view: 'experiment' }
  | { view: 'runs'; runId: string | null }
  | { view: 'compare'; runs: string[] };

/** Runs compared on one scale at most. */
export const MAX_COMPARED = 6;

const ID = /^[A-Za-z0-9_-]{1,80}$/;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [view, first, ...rest] = parts;
  if (view === 'experiment') return { view: 'experiment' };
  if (view === 'runs') return { view: 'runs', runId: first && ID.test(first) ? first : null };
  const runs = first ? [first, ...rest] : [];
  if (view === 'compare' && runs.length >= 2 && runs.length <= MAX_COMPARED && runs.every((id) => ID.test(id))) {
    return { view: 'compare', runs };
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
      return `#/compare/${route.runs.map(encodeURIComponent).join('/')}`;
  }
}

/**
 * Searching the history: a query is words that must all match (case-insensitive, as substrings)
 * somewhere in what a run is about — its name, kind, models (file names and labels), measures,
 * probe, tags and note. A word `field:value` looks in one field only (`tag:` matches a whole tag).
 */
/** What a run is searched by. */
export interface SearchableRun {
  name: string;
  kind: string;
  /** The stored spec (models, measures, probe); read defensively, it is JSON from the database. */
  spec: unknown;
  tags: readonly string[];
  note: string;
}

type Field = 'name' | 'model' | 'measure' | 'tag' | 'note' | 'probe' | 'kind';
const FIELDS: readonly Field[] = ['name', 'model', 'measure', 'tag', 'note', 'probe', 'kind'];

interface Term {
  field: Field | null;
  text: string;
}

/** The query as terms; a `word:` that names no field is plain text (`rbf:0.4` finds that measure). */
export function parseSearch(query: string): Term[] {
  return query
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => {
      const colon = word.indexOf(':');
      const head = colon > 0 ? word.slice(0, colon).toLowerCase() : '';
      if (colon > 0 && (FIELDS as readonly string[]).includes(head)) {
        return { field: head as Field, text: word.slice(colon + 1).toLowerCase() };
      }
      return { field: null, text: word.toLowerCase() };
    });
}

function fieldsOf(run: SearchableRun): Record<Field, string[]> {
  const spec = (typeof run.spec === 'object' && run.spec !== null ? run.spec : {}) as {
    models?: { path?: unknown; label?: unknown }[];
    measures?: unknown[];
    probe?: unknown;
  };
  const models = Array.isArray(spec.models) ? spec.models : [];
  const text = (v: unknown) => (typeof v === 'string' ? [v] : []);
  return {
    name: [run.name],
    kind: [run.kind],
    model: models.flatMap((m) => [...text(m?.path).map((p) => p.split(/[\\/]/).pop()!), ...text(m?.label)]),
    measure: Array.isArray(spec.measures) ? spec.measures.flatMap(text) : [],
    probe: text(spec.probe),
    tag: [...run.tags],
    note: [run.note],
  };
}

export function matchesSearch(run: SearchableRun, terms: readonly Term[]): boolean {
  if (terms.length === 0) return true;
  const fields = fieldsOf(run);
  const lower = Object.fromEntries(FIELDS.map((f) => [f, fields[f].map((v) => v.toLowerCase())])) as Record<
    Field,
    string[]
  >;
  return terms.every(({ field, text }) => {
    if (field === 'tag') return lower.tag.includes(text);
    const where = field === null ? FIELDS : [field];
    return where.some((f) => lower[f].some((value) => value.includes(text)));
  });
}

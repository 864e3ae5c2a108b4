// Module hooks of trace-imports.mjs (they run on the loader's thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith('node:')) appendFileSync(process.env.CKAWB_IMPORTS_FILE, `${resolved.url}\n`);
  return resolved;
}

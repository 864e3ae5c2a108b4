/**
 * The one entry point shells use: validate a method name and its request, call the API, and wrap
 * the outcome in an envelope so typed errors survive any transport.
 */
import type { ApiEnvelope, ApiMethodName, WorkbenchApi } from '../common/contract.js';
import { WorkbenchError, toErrorData } from '../common/errors.js';
import { isApiMethod, requestSchemas } from './schemas.js';

export function describeZodIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Validates `request` for `method`, throwing BAD_INPUT with the first problems named. */
export function parseRequest<M extends ApiMethodName>(method: M, request: unknown) {
  const result = requestSchemas[method].safeParse(request ?? {});
  if (!result.success) {
    throw new WorkbenchError('BAD_INPUT', `invalid request for ${method}: ${describeZodIssues(result.error.issues)}`);
  }
  return result.data;
}

export async function dispatch(api: WorkbenchApi, method: string, request: unknown): Promise<ApiEnvelope<unknown>> {
  try {
    if (!isApiMethod(method)) throw new WorkbenchError('NOT_FOUND', `unknown API method '${method}'`);
    const parsed = parseRequest(method, request);
    const call = api[method] as (req: unknown) => Promise<unknown>;
    return { ok: true, value: await call.call(api, parsed) };
  } catch (err) {
    return { ok: false, error: toErrorData(err) };
  }
}

/**
 * A typed WorkbenchApi over any transport that can carry `(method, request) → envelope`. Errors
 * come back as ApiError with the engine's code and message, whatever the transport.
 */
import type { ApiEnvelope, ErrorCode, WorkbenchApi, WorkbenchEvent, Unsubscribe } from '@common/contract.js';

export class ApiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

export type Invoke = (method: string, request: unknown) => Promise<ApiEnvelope<unknown>>;
export type Subscribe = (listener: (event: WorkbenchEvent) => void) => Unsubscribe;

export function createClient(invoke: Invoke, subscribe: Subscribe): WorkbenchApi {
  const call = async (method: string, request: unknown) => {
    const envelope = await invoke(method, request ?? {});
    if (!envelope.ok) throw new ApiError(envelope.error.code, envelope.error.message);
    return envelope.value;
  };
  return new Proxy({} as WorkbenchApi, {
    get(_target, property) {
      if (property === 'subscribe') return subscribe;
      if (typeof property !== 'string' || property === 'then') return undefined;
      return (request: unknown) => call(property, request);
    },
  });
}

/** The message to show for any failure. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

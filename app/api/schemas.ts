/**
 * Runtime validation of every request that crosses a boundary (IPC, HTTP, CLI), one schema per
 * API method. The TypeScript request types in ./contract.ts are the source of truth; the
 * `satisfies` clause keeps the two in step.
 */
import { z } from 'zod';
import type { ApiMethodName, ApiRequest } from './contract.js';

const filePath = z
  .string()
  .min(1, 'a file path is required')
  .max(4096, 'the path is too long')
  .refine((p) => !p.includes('\0'), 'the path contains a NUL byte');

export const requestSchemas = {
  appInfo: z.object({}).strict(),
  inspectModel: z.object({ path: filePath }).strict(),
} satisfies { [M in ApiMethodName]: z.ZodType<ApiRequest<M>> };

export const API_METHODS = Object.keys(requestSchemas) as ApiMethodName[];

export function isApiMethod(name: string): name is ApiMethodName {
  return Object.prototype.hasOwnProperty.call(requestSchemas, name);
}

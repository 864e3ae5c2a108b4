import type { ErrorCode } from '../common/contract.js';

/** HTTP status for each error code; the body always carries the typed error itself. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  BAD_MODEL: 422,
  BAD_PROBE: 422,
  NUMERIC: 422,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CANCELLED: 409,
  UNSUPPORTED: 501,
  TIMEOUT: 504,
  OUT_OF_MEMORY: 507,
  DISK_FULL: 507,
  RUNTIME: 500,
  INTERNAL: 500,
};

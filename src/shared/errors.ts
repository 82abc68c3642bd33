// Why: one catalogue of coded errors, so every door answers `{error:{code,message}}` with the right
// status and callers (and tests) match on a stable code, never on message text.

export interface ErrorSpec {
  status: number;
  message: string;
}

/** The catalogue: code -> HTTP status and a default message. */
export const ERRORS = {
  BAD_REQUEST: { status: 400, message: 'the request is malformed' },
  SQL_TOO_LARGE: { status: 413, message: 'the SQL text is larger than allowed' },
  BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than allowed' },
  URI_TOO_LONG: { status: 414, message: 'the URL (or one of its path segments) is longer than allowed' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request line and headers are larger than allowed' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send Content-Type: application/json' },
  SQL_ERROR: { status: 400, message: 'the engine rejected the statement' },
  NOT_READ_ONLY: { status: 403, message: 'only read-only statements are allowed' },
  UNAUTHENTICATED: { status: 401, message: 'authentication is required' },
  TOO_MANY_FAILURES: { status: 429, message: 'too many failed sign-ins for this user or from this address; retry later' },
  AUTH_BUSY: { status: 503, message: 'too many password checks are running; retry later' },
  FORBIDDEN: { status: 403, message: 'not allowed' },
  NOT_FOUND: { status: 404, message: 'not found' },
  GONE: { status: 410, message: 'gone' },
  QUEUE_FULL: { status: 429, message: 'too many queries are waiting; retry later' },
  QUEUE_TIMEOUT: { status: 429, message: 'the query waited too long for an execution slot; retry later' },
  CLIENT_TOO_SLOW: { status: 408, message: 'the client did not read the answer within the statement timeout' },
  HELD_BYTES_EXCEEDED: { status: 429, message: 'the answers held for this user, or for all users, are over their bound; fetch or cancel running queries' },
  EXPECTATION_FAILED: { status: 417, message: 'the Expect header asks for something this server does not do' },
  CACHE_UNAVAILABLE: { status: 503, message: 'the cache store (Redis) is unavailable' },
  ENGINE_UNAVAILABLE: { status: 502, message: 'the query engine is unreachable' },
  ENGINE_TIMEOUT: { status: 504, message: 'the query engine did not answer in time' },
  QUERY_CANCELLED: { status: 499, message: 'the query was cancelled' },
  TOO_MANY_JOBS: { status: 429, message: 'this user has as many GPU jobs open (queued, placed or running) as allowed; wait for some to finish' },
  UNSCHEDULABLE: { status: 422, message: 'no node of the cluster could ever hold this request' },
  CONFLICT: { status: 409, message: 'the job is not in a state that allows this' },
  LEASE_LOST: { status: 409, message: 'the job no longer holds its GPUs' },
  GPU_UNAVAILABLE: { status: 503, message: 'the GPU scheduler store (Redis) is unavailable; retry later' },
  SHUTTING_DOWN: { status: 503, message: 'this replica is shutting down; retry (another replica will answer)' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields for the JSON body (e.g. the engine's `errorName`). */
  readonly details: Record<string, string | number> | undefined;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, string | number>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message ?? ERRORS[code].message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = opts.details;
    this.headers = opts.headers;
  }

  toBody(): { error: { code: string; message: string } & Record<string, string | number> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

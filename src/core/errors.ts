// RFC 9457 problem details. Services throw Problem; the HTTP layer renders it as
// application/problem+json with the request id.

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: Array<{ path: string; message: string }>;
  [ext: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  423: "Locked",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
  toBody(): ProblemBody {
    return {
      type: `urn:sen:problem:${this.code}`,
      title: TITLES[this.status] ?? "Error",
      status: this.status,
      detail: this.message,
      ...this.extra,
    };
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new Problem(400, "bad-request", detail, extra);
export const unauthorized = (detail = "Sign in or give a valid token or API key.") => new Problem(401, "unauthorized", detail);
export const forbidden = (detail = "You do not have permission for this.") => new Problem(403, "forbidden", detail);
export const notFound = (detail = "Not found, or you have no access to it.") => new Problem(404, "not-found", detail);
export const conflict = (detail: string) => new Problem(409, "conflict", detail);

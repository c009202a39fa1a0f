// NGSI-LD ProblemDetails (ETSI GS CIM 009, clause 5.5.2): the broker's own error format, sent as
// application/json. Every failure of the /ngsi-ld API is one of these types.

export const ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/";

export type LdErrorType =
  | "InvalidRequest"
  | "BadRequestData"
  | "AlreadyExists"
  | "OperationNotSupported"
  | "ResourceNotFound"
  | "InternalError"
  | "TooComplexQuery"
  | "TooManyResults"
  | "LdContextNotAvailable"
  | "NonexistentTenant"
  | "NotAcceptable"
  | "UnsupportedMediaType";

const TITLES: Record<LdErrorType, string> = {
  InvalidRequest: "Invalid request",
  BadRequestData: "Bad request data",
  AlreadyExists: "Already exists",
  OperationNotSupported: "Operation not supported",
  ResourceNotFound: "Resource not found",
  InternalError: "Internal error",
  TooComplexQuery: "Too complex query",
  TooManyResults: "Too many results",
  LdContextNotAvailable: "JSON-LD @context not available",
  NonexistentTenant: "Nonexistent tenant",
  NotAcceptable: "Not acceptable",
  UnsupportedMediaType: "Unsupported media type",
};

export interface LdProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  [k: string]: unknown;
}

export class LdProblem extends Error {
  constructor(
    readonly ldType: LdErrorType,
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
  toBody(): LdProblemBody {
    return { type: ERROR_BASE + this.ldType, title: TITLES[this.ldType], status: this.status, detail: this.message };
  }
}

export const badRequestData = (detail: string) => new LdProblem("BadRequestData", 400, detail);
export const invalidRequest = (detail: string) => new LdProblem("InvalidRequest", 400, detail);
export const notFound = (detail: string) => new LdProblem("ResourceNotFound", 404, detail);
export const alreadyExists = (detail: string) => new LdProblem("AlreadyExists", 409, detail);
export const notSupported = (detail: string) => new LdProblem("OperationNotSupported", 422, detail);
export const tooManyResults = (detail: string) => new LdProblem("TooManyResults", 403, detail);
export const tooComplex = (detail: string) => new LdProblem("TooComplexQuery", 403, detail);
export const contextNotAvailable = (detail: string) => new LdProblem("LdContextNotAvailable", 503, detail);
export const nonexistentTenant = (detail: string) => new LdProblem("NonexistentTenant", 404, detail);

// Schemas shared by many routes.
import { type TSchema, Type } from "@sinclair/typebox";

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: "Problem", description: "RFC 9457 problem details", additionalProperties: true },
);

/** Standard error responses for the OpenAPI document. */
export const errors = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, { ...ProblemSchema, $id: undefined, description: `problem+json (${c})` }]));

export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};

/** A bounded single-line string: every string input has a length limit. */
export const Str = (max = 200, extra: object = {}) => Type.String({ maxLength: max, ...extra });

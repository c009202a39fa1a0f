// TypeBox schemas of the indicators API: validation and OpenAPI from one source.
import { type TSchema, Type } from "@sinclair/typebox";
import { Str } from "../core/http/schemas.ts";
import { OPERATORS } from "./expression.ts";
import { PERIOD_TYPES } from "./periods.ts";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const strict = { additionalProperties: false };
const Lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));

export const Id = Str(100, { minLength: 1 });
export const IdParams = Type.Object({ id: Id });
export const FormParams = Type.Object({ id: Id, ou: Str(40, { minLength: 1 }), pe: Str(20, { minLength: 1 }) });

export const CategoryBody = Type.Object(
  {
    name: Str(200, { minLength: 1 }),
    nameEn: Str(200, { minLength: 1 }),
    options: Type.Array(Type.Object({ code: Str(40, { minLength: 1 }), name: Str(200, { minLength: 1 }), nameEn: Str(200, { minLength: 1 }) }, strict), {
      maxItems: 200,
    }),
  },
  strict,
);

export const ElementBody = Type.Object(
  {
    name: Str(300, { minLength: 1 }),
    nameEn: Str(300, { minLength: 1 }),
    description: Type.Optional(Str(2000)),
    valueType: Lit(["number", "integer", "percent", "boolean", "text"]),
    aggregation: Type.Optional(Lit(["sum", "average", "last"])),
    categories: Type.Optional(Type.Array(Str(64), { maxItems: 4 })),
    unit: Type.Optional(Str(40)),
    min: Type.Optional(Nullable(Type.Number())),
    max: Type.Optional(Nullable(Type.Number())),
  },
  strict,
);

export const IndicatorBody = Type.Object(
  {
    name: Str(300, { minLength: 1 }),
    nameEn: Str(300, { minLength: 1 }),
    description: Type.Optional(Str(2000)),
    numerator: Str(2000, { minLength: 1, description: "Expression: #{element}, #{element.disaggregation}, N{indicator}, numbers, + - * / ( )" }),
    denominator: Type.Optional(Str(2000, { minLength: 1 })),
    factor: Type.Optional(Type.Number({ description: "1, 100 (percent), 1000 (per thousand), …" })),
    decimals: Type.Optional(Type.Integer({ minimum: 0, maximum: 6 })),
    unit: Type.Optional(Str(40)),
    sector: Type.Optional(Nullable(Str(40))),
  },
  strict,
);

export const DataSetBody = Type.Object(
  {
    name: Str(300, { minLength: 1 }),
    nameEn: Str(300, { minLength: 1 }),
    description: Type.Optional(Str(2000)),
    periodType: Lit(PERIOD_TYPES),
    elements: Type.Array(Id, { minItems: 1, maxItems: 500 }),
    units: Type.Array(Str(80), { maxItems: 2000, description: "Unit ids, or OU_GROUP-<group> for all members of a group" }),
    dueDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 366, description: "Days after the period ends the report is due" })),
    expiryDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660, description: "Days after the period ends entry closes (0 = never)" })),
    approverAgency: Type.Optional(Nullable(Str(40))),
  },
  strict,
);

export const RuleBody = Type.Object(
  {
    dataSet: Id,
    name: Str(300, { minLength: 1 }),
    left: Str(2000, { minLength: 1 }),
    operator: Lit(OPERATORS),
    right: Str(2000, { minLength: 1 }),
    message: Str(500, { minLength: 1 }),
    messageEn: Str(500, { minLength: 1 }),
    importance: Type.Optional(Lit(["high", "medium", "low"])),
  },
  strict,
);

export const GroupBody = Type.Object(
  { name: Str(200, { minLength: 1 }), nameEn: Str(200, { minLength: 1 }), members: Type.Array(Str(40), { maxItems: 2000 }) },
  strict,
);

const RawValue = Type.Union([Type.String({ maxLength: 50_000 }), Type.Number(), Type.Boolean(), Type.Null()]);

export const SaveValuesBody = Type.Object(
  {
    values: Type.Array(
      Type.Object(
        {
          dataElement: Id,
          categoryOptionCombo: Type.Optional(Str(200)),
          value: RawValue,
          comment: Type.Optional(Str(2000)),
        },
        strict,
      ),
      { maxItems: 5000 },
    ),
  },
  strict,
);

export const ReturnBody = Type.Object({ reason: Str(2000, { minLength: 1 }) }, strict);

export const DataValueSetBody = Type.Object(
  {
    dataSet: Type.Optional(Str(100)),
    period: Type.Optional(Str(20)),
    orgUnit: Type.Optional(Str(40)),
    dataValues: Type.Array(
      Type.Object(
        {
          dataElement: Str(200),
          period: Str(40),
          orgUnit: Str(80),
          categoryOptionCombo: Type.Optional(Str(200)),
          attributeOptionCombo: Type.Optional(Str(200)),
          value: RawValue,
          comment: Type.Optional(Str(2000)),
          storedBy: Type.Optional(Str(200)),
          lastUpdated: Type.Optional(Str(40)),
          followup: Type.Optional(Type.Boolean()),
        },
        strict,
      ),
      { maxItems: 200_000 },
    ),
  },
  { additionalProperties: false, description: "DHIS2 dataValueSets; dataValues' own period/orgUnit win over the set's" },
);

export const ImportQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean()) }, strict);

export const ExportQuery = Type.Object(
  {
    dataSet: Type.Optional(Str(1000, { description: "Comma-separated form ids" })),
    dataElement: Type.Optional(Str(2000, { description: "Comma-separated element ids" })),
    period: Type.Optional(Str(400, { description: "Comma-separated ISO periods" })),
    startDate: Type.Optional(Type.String({ format: "date" })),
    endDate: Type.Optional(Type.String({ format: "date" })),
    orgUnit: Type.Optional(Str(2000, { description: "Comma-separated unit ids" })),
    children: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const AnalyticsQuerySchema = Type.Object(
  {
    dx: Str(4000, { minLength: 1, description: "Indicators, elements or element.disaggregation, separated by ;" }),
    pe: Type.Optional(Str(1000, { description: "ISO or relative periods (THIS_YEAR, LAST_12_MONTHS, …), separated by ;" })),
    ou: Type.Optional(Str(4000, { description: "Unit ids, LEVEL-1, LEVEL-2, OU_GROUP-<id>, separated by ;" })),
    filter: Type.Optional(
      Type.Union([Str(4000), Type.Array(Str(4000), { maxItems: 4 })], { description: "pe:… or ou:… — aggregate over these items instead of a row each" }),
    ),
    date: Type.Optional(Type.String({ format: "date", description: "Reference date for relative periods (default today in Vietnam)" })),
  },
  strict,
);

export const CompletenessQuery = Type.Object(
  { dataSet: Id, pe: Str(1000, { minLength: 1, description: "Periods or relative periods, separated by ;" }), ou: Type.Optional(Str(4000)) },
  strict,
);

export const HistoryQuery = Type.Object(
  { de: Type.Optional(Id), ou: Type.Optional(Str(40)), pe: Type.Optional(Str(20)), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  strict,
);

export const ScorecardQuery = Type.Object({ date: Type.Optional(Type.String({ format: "date" })), ou: Type.Optional(Str(40)) }, strict);
export const MapQuery = Type.Object({ dx: Id, pe: Str(40, { minLength: 1 }) }, strict);

export const TaskPatch = Type.Object(
  {
    status: Type.Optional(Lit(["planned", "in_progress", "done", "delayed", "cancelled"])),
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    evidence: Type.Optional(Type.Array(Type.Object({ title: Str(300, { minLength: 1 }), url: Str(2000, { minLength: 1 }) }, strict), { maxItems: 50 })),
    leadAgency: Type.Optional(Nullable(Str(40))),
    deadline: Type.Optional(Nullable(Type.String({ format: "date" }))),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PeriodParams = Type.Object({ pe: Str(20, { minLength: 1 }) });
export const ExportBody = Type.Object({ period: Str(20, { minLength: 1 }) }, strict);
export const RefreshBody = Type.Object({ source: Type.Optional(Str(64)) }, strict);

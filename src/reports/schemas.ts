// TypeBox schemas of the reports API: validation and OpenAPI from one source.
import { type TSchema, Type } from "@sinclair/typebox";
import { Paging, Str } from "../core/http/schemas.ts";
import { CHANNELS, DATATYPES, GROUPS, STATUSES } from "./types.ts";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const DateTime = Type.String({ format: "date-time" });

export const StatusSchema = lit(STATUSES);
export const ChannelSchema = lit(CHANNELS);
const Email = Type.String({ maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$" });
const Phone = Type.String({ maxLength: 20, pattern: "^\\+?[0-9 .()-]{6,20}$" });

export const AttributeSchema = Type.Object(
  {
    code: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }),
    datatype: lit(DATATYPES),
    required: Type.Boolean(),
    description: Str(500, { minLength: 1 }),
    descriptionEn: Type.Optional(Str(500)),
    order: Type.Integer({ minimum: 1, maximum: 1000 }),
    variable: Type.Optional(Type.Boolean()),
    datatypeDescription: Type.Optional(Str(500)),
    values: Type.Optional(
      Type.Array(
        Type.Object({ key: Str(64, { minLength: 1 }), name: Str(200, { minLength: 1 }), nameEn: Type.Optional(Str(200)) }, { additionalProperties: false }),
        {
          maxItems: 200,
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CategorySchema = Type.Object(
  {
    code: Type.String(),
    group: lit(GROUPS),
    name: Type.String(),
    nameEn: Type.String(),
    description: Type.String(),
    descriptionEn: Type.String(),
    keywords: Type.String(),
    level: lit(["commune", "province"] as const),
    agency: Nullable(Type.String()),
    deadlineHours: Type.Integer(),
    attributes: Type.Array(AttributeSchema),
    active: Type.Boolean(),
  },
  { $id: "ReportCategory" },
);

export const CategoryBody = Type.Object(
  {
    group: lit(GROUPS),
    name: Str(200, { minLength: 1 }),
    nameEn: Str(200, { minLength: 1 }),
    description: Type.Optional(Str(2000)),
    descriptionEn: Type.Optional(Str(2000)),
    keywords: Type.Optional(Str(500)),
    level: lit(["commune", "province"] as const),
    agency: Type.Optional(Nullable(Str(40))),
    deadlineHours: Type.Integer({ minimum: 1, maximum: 8760 }),
    attributes: Type.Optional(Type.Array(AttributeSchema, { maxItems: 50 })),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const CodeParams = Type.Object({ code: Type.String({ pattern: "^[A-Za-z0-9_-]{1,32}$" }) });
export const IdParams = Type.Object({ id: Str(24) });
export const PhotoParams = Type.Object({ id: Str(24), photo: Str(40) });

export const RouteBody = Type.Object(
  { category: Str(32, { minLength: 1 }), commune: Str(20, { minLength: 1 }), agency: Nullable(Str(40, { minLength: 1 })) },
  { additionalProperties: false },
);

/** A new report from the app, the web or a hotline operator (JSON, or the "report" field of a multipart form). */
export const NewReportBody = Type.Object(
  {
    category: Str(32, { minLength: 1 }),
    description: Str(4000, { minLength: 1 }),
    lat: Type.Optional(Nullable(Type.Number({ minimum: -90, maximum: 90 }))),
    lon: Type.Optional(Nullable(Type.Number({ minimum: -180, maximum: 180 }))),
    address: Type.Optional(Nullable(Str(500))),
    commune: Type.Optional(Nullable(Str(20))),
    attributes: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Str(4000), Type.Number(), Type.Array(Str(64), { maxItems: 50 })]), { maxProperties: 50 }),
    ),
    channel: Type.Optional(ChannelSchema),
    name: Type.Optional(Nullable(Str(200))),
    phone: Type.Optional(Nullable(Phone)),
    email: Type.Optional(Nullable(Email)),
    clientKey: Type.Optional(Str(100, { description: "Idempotency key: a retry with the same key returns the first report" })),
  },
  { additionalProperties: false },
);

export const PhotoSchema = Type.Object({
  id: Type.String(),
  kind: lit(["report", "fix"] as const),
  url: Type.String(),
  thumbUrl: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
});

const reportProps = {
  id: Type.String(),
  token: Type.String(),
  category: Type.String(),
  categoryName: Type.String(),
  group: Type.String(),
  channel: ChannelSchema,
  status: StatusSchema,
  description: Type.String(),
  lat: Nullable(Type.Number()),
  lon: Nullable(Type.Number()),
  address: Nullable(Type.String()),
  commune: Nullable(Type.String()),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  mediaUrl: Nullable(Type.String()),
  agency: Type.String(),
  assigneeUser: Nullable(Type.String()),
  duplicateOf: Nullable(Type.String()),
  statusNotes: Nullable(Type.String()),
  requestedAt: DateTime,
  updatedAt: DateTime,
  deadlineAt: DateTime,
  overdue: Type.Boolean(),
  resolvedAt: Nullable(DateTime),
  closedAt: Nullable(DateTime),
  rating: Nullable(Type.Integer()),
  ratingComment: Nullable(Type.String()),
  followers: Type.Integer(),
  photos: Type.Array(PhotoSchema),
};

export const UpdateSchema = Type.Object({
  id: Type.String(),
  at: DateTime,
  kind: Type.String(),
  status: Nullable(StatusSchema),
  note: Nullable(Type.String()),
  public: Type.Boolean(),
  agency: Nullable(Type.String()),
  actor: Type.String(),
});

/** What anyone may see: no reporter. */
export const PublicReport = Type.Object(reportProps, { $id: "PublicReport" });
export const PublicReportDetail = Type.Object({ ...reportProps, updates: Type.Array(UpdateSchema) });
export const NearbyReport = Type.Object({ ...reportProps, distance: Type.Number({ description: "metres" }) });
const Reporter = Type.Object({
  name: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  email: Nullable(Type.String()),
  userId: Nullable(Type.String()),
});
export const StaffReport = Type.Object({ ...reportProps, reporter: Type.Optional(Reporter) }, { $id: "StaffReport" });
export const StaffReportDetail = Type.Object({
  ...reportProps,
  reporter: Type.Optional(Reporter),
  updates: Type.Array(UpdateSchema),
  supervisor: Nullable(Type.String()),
});

export const SubmitResult = Type.Object({
  report: PublicReport,
  trackingKey: Nullable(Type.String({ description: "Keep it: with the id it lets an anonymous citizen follow up, reopen and rate" })),
  duplicate: Type.Boolean({ description: "true: this client key was already used; the first report is returned" }),
});

export const QueueQuery = Type.Object(
  {
    status: Type.Optional(Str(200, { description: "Comma-separated statuses" })),
    category: Type.Optional(Str(200, { description: "Comma-separated category codes" })),
    agency: Type.Optional(Str(40)),
    commune: Type.Optional(Str(20)),
    overdue: Type.Optional(Type.Boolean()),
    q: Type.Optional(Str(200)),
    order: Type.Optional(lit(["deadline", "requested"] as const)),
    ...Paging,
  },
  { additionalProperties: false },
);

export const PublicQuery = Type.Object(
  {
    bbox: Type.Optional(Str(100, { description: "minLon,minLat,maxLon,maxLat" })),
    status: Type.Optional(lit(["open", "closed"] as const)),
    category: Type.Optional(Str(200)),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, default: 90 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000, default: 500 })),
  },
  { additionalProperties: false },
);

export const NearbyQuery = Type.Object(
  { category: Str(32), lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false },
);

export const LookupBody = Type.Object(
  { items: Type.Array(Type.Object({ id: Str(24), key: Str(100) }, { additionalProperties: false }), { maxItems: 100 }) },
  { additionalProperties: false },
);

export const ActionBody = Type.Object(
  {
    action: lit(["accept", "start", "resolve", "reject", "duplicate", "reroute", "note", "close"] as const),
    note: Type.Optional(Nullable(Str(4000))),
    public: Type.Optional(Type.Boolean()),
    agency: Type.Optional(Str(40)),
    duplicateOf: Type.Optional(Str(24)),
    assignee: Type.Optional(Nullable(Type.String({ pattern: "^[0-9a-fA-F-]{36}$" }))),
  },
  { additionalProperties: false },
);

export const FollowBody = Type.Object({ email: Type.Optional(Nullable(Email)) }, { additionalProperties: false });
export const ReopenBody = Type.Object({ note: Str(4000, { minLength: 1 }), key: Type.Optional(Str(100)) }, { additionalProperties: false });
export const RateBody = Type.Object(
  { rating: Type.Integer({ minimum: 1, maximum: 5 }), comment: Type.Optional(Nullable(Str(2000))), key: Type.Optional(Str(100)) },
  { additionalProperties: false },
);

export const StatsQuery = Type.Object(
  {
    period: Type.Optional(Str(10, { description: "ISO period: 2025, 2025Q3, 202507, 20250715" })),
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    by: Type.Optional(lit(["agency", "commune", "category"] as const)),
    agency: Type.Optional(Str(40)),
    commune: Type.Optional(Str(20)),
    category: Type.Optional(Str(32)),
  },
  { additionalProperties: false },
);

const StatsRowSchema = Type.Object({
  key: Nullable(Type.String()),
  received: Type.Integer(),
  resolved: Type.Integer(),
  onTime: Type.Integer(),
  onTimeShare: Nullable(Type.Number()),
  medianHandlingHours: Nullable(Type.Number()),
  satisfaction: Nullable(Type.Number()),
  ratings: Type.Integer(),
  open: Type.Integer(),
  overdue: Type.Integer(),
});
export const StatsSchema = Type.Object({ from: DateTime, to: DateTime, by: Nullable(Type.String()), total: StatsRowSchema, rows: Type.Array(StatsRowSchema) });

export const WebhookBody = Type.Object(
  { name: Str(100, { minLength: 1 }), url: Str(500, { minLength: 1 }), secret: Type.Optional(Nullable(Str(200))) },
  { additionalProperties: false },
);
export const WebhookSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  active: Type.Boolean(),
  hasSecret: Type.Boolean(),
  createdAt: Type.String(),
});

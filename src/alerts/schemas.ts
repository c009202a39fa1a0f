// TypeBox schemas of the alerts API: validation and OpenAPI from one source.
import { type TSchema, Type } from "@sinclair/typebox";
import { Paging, Str } from "../core/http/schemas.ts";
import { CATEGORIES, CERTAINTIES, RESPONSE_TYPES, SEVERITIES, URGENCIES } from "./cap.ts";
import { HAZARDS } from "./templates.ts";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Enum = (values: readonly string[], opts: object = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    opts,
  );
const DateTime = Type.String({ format: "date-time" });
const LatLon = Type.Tuple([Type.Number({ minimum: -90, maximum: 90 }), Type.Number({ minimum: -180, maximum: 180 })]);
const Circle = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    radiusKm: Type.Number({ exclusiveMinimum: 0, maximum: 200 }),
  },
  { additionalProperties: false },
);
const CommuneCode = Type.String({ pattern: "^\\d{5}$" });
const Pair = Type.Object({ valueName: Str(200, { minLength: 1 }), value: Str(2000) }, { additionalProperties: false });

export const AreaInput = Type.Object(
  {
    description: Type.Optional(Str(2000)),
    communes: Type.Optional(Type.Array(CommuneCode, { maxItems: 500 })),
    polygons: Type.Optional(
      Type.Array(Type.Array(LatLon, { minItems: 3, maxItems: 1000 }), { maxItems: 10, description: "Rings of [lat, lon]; closed for you" }),
    ),
    circles: Type.Optional(Type.Array(Circle, { maxItems: 10 })),
  },
  { additionalProperties: false },
);

const InfoInput = Type.Object(
  {
    language: Enum(["vi", "en"]),
    event: Str(200, { minLength: 1 }),
    headline: Str(400, { minLength: 1 }),
    description: Type.Optional(Str(8000)),
    instruction: Type.Optional(Str(4000)),
    web: Type.Optional(Str(500)),
    contact: Type.Optional(Str(300)),
  },
  { additionalProperties: false },
);

const draftProps = {
  hazard: Type.Optional(Enum(HAZARDS)),
  status: Type.Optional(Enum(["Actual", "Exercise", "System", "Test", "Draft"])),
  categories: Type.Optional(Type.Array(Enum(CATEGORIES), { minItems: 1, maxItems: 12, uniqueItems: true })),
  responseTypes: Type.Optional(Type.Array(Enum(RESPONSE_TYPES), { maxItems: 9, uniqueItems: true })),
  urgency: Type.Optional(Enum(URGENCIES)),
  severity: Type.Optional(Enum(SEVERITIES)),
  certainty: Type.Optional(Enum(CERTAINTIES)),
  onset: Type.Optional(Nullable(DateTime)),
  expires: Type.Optional(Nullable(DateTime)),
  note: Type.Optional(Nullable(Str(2000))),
  infos: Type.Optional(Type.Array(InfoInput, { minItems: 1, maxItems: 2 })),
  parameters: Type.Optional(Type.Array(Pair, { maxItems: 50 })),
  area: Type.Optional(AreaInput),
};

export const DraftBody = Type.Object({ ...draftProps, infos: Type.Array(InfoInput, { minItems: 1, maxItems: 2 }) }, { additionalProperties: false });
export const EditBody = Type.Object({ ...draftProps, version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

const Info = Type.Object({
  language: Type.String(),
  event: Type.String(),
  headline: Type.String(),
  description: Type.String(),
  instruction: Type.Optional(Type.String()),
  web: Type.Optional(Type.String()),
  contact: Type.Optional(Type.String()),
  senderName: Type.Optional(Type.String()),
});

export const Alert = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    identifier: Type.String(),
    origin: Enum(["sen", "import"]),
    state: Enum(["draft", "submitted", "published", "discarded"]),
    current: Type.Boolean({ description: "Published, not ended, not expired" }),
    hazard: Type.String(),
    sender: Type.String(),
    senderName: Type.String(),
    agency: Nullable(Type.String()),
    status: Type.String(),
    msgType: Type.String(),
    scope: Type.String(),
    note: Nullable(Type.String()),
    referencesId: Nullable(Type.String()),
    references: Nullable(Type.String()),
    categories: Type.Array(Type.String()),
    responseTypes: Type.Array(Type.String()),
    urgency: Type.String(),
    severity: Type.String(),
    certainty: Type.String(),
    onset: Nullable(DateTime),
    expires: Nullable(DateTime),
    infos: Type.Array(Info),
    parameters: Type.Array(Type.Object({ valueName: Type.String(), value: Type.String() })),
    area: Type.Object({
      description: Type.String(),
      communes: Type.Array(Type.String()),
      polygons: Type.Array(Type.Array(Type.Array(Type.Number()))),
      circles: Type.Array(Type.Object({ lat: Type.Number(), lon: Type.Number(), radiusKm: Type.Number() })),
    }),
    communes: Type.Array(Type.String(), { description: "Every commune the area touches" }),
    source: Nullable(Type.Object({ alarmId: Nullable(Type.String()), deviceId: Nullable(Type.String()) })),
    createdBy: Nullable(Type.String()),
    createdByName: Type.String(),
    submittedBy: Nullable(Type.String()),
    submittedAt: Nullable(DateTime),
    approvedBy: Nullable(Type.String()),
    approvedByName: Nullable(Type.String()),
    sent: Nullable(DateTime),
    endedAt: Nullable(DateTime),
    endReason: Nullable(Type.String()),
    supersededBy: Nullable(Type.String()),
    version: Type.Integer(),
    createdAt: DateTime,
    updatedAt: DateTime,
    capUrl: Nullable(Type.String()),
  },
  { $id: "Alert" },
);

export const AlertQuery = Type.Object(
  {
    state: Type.Optional(Str(60, { description: "Comma-separated: draft, submitted, published, discarded (staff); default published" })),
    current: Type.Optional(Type.Boolean({ description: "Only messages in force (published, not ended, not expired)" })),
    origin: Type.Optional(Enum(["sen", "import"])),
    commune: Type.Optional(Str(600, { description: "Comma-separated commune codes the area touches" })),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    category: Type.Optional(Str(200, { description: "Comma-separated CAP categories" })),
    severity: Type.Optional(Enum(SEVERITIES, { description: "This severity or worse" })),
    hazard: Type.Optional(Enum(HAZARDS)),
    msgType: Type.Optional(Enum(["Alert", "Update", "Cancel"])),
    status: Type.Optional(Enum(["Actual", "Exercise", "System", "Test", "Draft"])),
    ...Paging,
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Str(64) });
export const RejectBody = Type.Object({ reason: Str(2000, { minLength: 1 }) }, { additionalProperties: false });
export const CancelBody = Type.Object({ reason: Str(2000, { minLength: 1 }), note: Type.Optional(Str(2000)) }, { additionalProperties: false });

export const Subscription = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    channel: Type.String(),
    target: Type.Record(Type.String(), Type.Unknown()),
    communes: Type.Array(Type.String()),
    lat: Nullable(Type.Number()),
    lon: Nullable(Type.Number()),
    categories: Type.Array(Type.String()),
    minSeverity: Type.String(),
    language: Type.String(),
    active: Type.Boolean(),
    createdAt: DateTime,
  },
  { $id: "AlertSubscription" },
);

export const SubscriptionBody = Type.Object(
  {
    name: Type.Optional(Str(200)),
    channel: Enum(["webpush", "email", "webhook"]),
    target: Type.Record(Type.String(), Type.Unknown(), { description: "webpush: the PushSubscription JSON; email: {email}; webhook: {url, secret?}" }),
    communes: Type.Optional(Type.Array(CommuneCode, { maxItems: 200 })),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    categories: Type.Optional(Type.Array(Enum(CATEGORIES), { maxItems: 12, uniqueItems: true })),
    minSeverity: Type.Optional(Enum(SEVERITIES)),
    language: Type.Optional(Enum(["vi", "en"])),
  },
  { additionalProperties: false },
);

export const BulkSubscriptionBody = Type.Object(
  { subscriptions: Type.Array(SubscriptionBody, { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);

export const Progress = Type.Object({
  matched: Type.Integer(),
  fanoutDone: Type.Boolean(),
  sent: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer(),
  byChannel: Type.Record(Type.String(), Type.Object({ sent: Type.Integer(), failed: Type.Integer() })),
  recent: Type.Array(
    Type.Object({
      subscriptionId: Type.String(),
      deliveryId: Type.String(),
      channel: Type.String(),
      status: Type.String(),
      attempts: Type.Integer(),
      detail: Nullable(Type.String()),
      at: DateTime,
    }),
  ),
});

export const ImportResult = Type.Object({
  imported: Type.Array(Type.Object({ id: Type.String(), identifier: Type.String(), created: Type.Boolean() })),
  refused: Type.Array(Type.Object({ id: Type.String(), reasons: Type.Array(Type.String()) })),
});

export const AreaCommunes = Type.Array(Type.Object({ code: Type.String(), name: Type.String(), nameEn: Type.String() }));

// TypeBox schemas of the alarm API: validation and OpenAPI from one source.
import { type TSchema, Type } from "@sinclair/typebox";
import { Paging, Str } from "../core/http/schemas.ts";
import { SEVERITIES } from "../iot/types.ts";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: "date-time" });
const Json = Type.Record(Type.String(), Type.Unknown());

export const Severity = Type.Union(SEVERITIES.map((s) => Type.Literal(s)));
export const Status = Type.Union([Type.Literal("active"), Type.Literal("cleared")]);

const alarmProps = {
  id: Type.String({ format: "uuid" }),
  deviceId: Type.String(),
  deviceName: Type.String(),
  deviceType: Type.String(),
  ruleId: Type.String(),
  type: Type.String({ description: 'Alarm type, the id of the rule that raised it (e.g. "flood-level")' }),
  name: Type.String(),
  severity: Severity,
  status: Status,
  acknowledged: Type.Boolean(),
  commune: Nullable(Type.String()),
  agency: Nullable(Type.String({ description: "Agency owning the device" })),
  value: Type.Unknown({ description: "Last value seen while active" }),
  threshold: Nullable(Json),
  startedAt: DateTime,
  updatedAt: DateTime,
  clearedAt: Nullable(DateTime),
  clearedBy: Nullable(Type.String({ description: "Who cleared it by hand; null while active or when its rule cleared it" })),
  ackedAt: Nullable(DateTime),
  ackedBy: Nullable(Type.String()),
  assigneeAgency: Nullable(Type.String()),
  assigneeUser: Nullable(Type.String({ format: "uuid" })),
  details: Json,
};

export const Alarm = Type.Object(alarmProps, { $id: "Alarm" });

export const AlarmHistoryEntry = Type.Object(
  {
    id: Type.Integer(),
    at: DateTime,
    kind: Type.Union(["raised", "escalated", "deescalated", "acknowledged", "cleared", "assigned", "commented", "value"].map((k) => Type.Literal(k))),
    actor: Type.String(),
    details: Json,
  },
  { $id: "AlarmHistoryEntry" },
);

export const AlarmDetail = Type.Object({ ...alarmProps, history: Type.Array(AlarmHistoryEntry) }, { $id: "AlarmDetail" });

const counts = Type.Object({ critical: Type.Integer(), major: Type.Integer(), minor: Type.Integer(), warning: Type.Integer() });
export const AlarmSummary = Type.Object({
  total: Type.Integer({ description: "Active alarms" }),
  unacknowledged: Type.Integer(),
  bySeverity: counts,
  unacknowledgedBySeverity: counts,
});

export const AlarmQuery = Type.Object(
  {
    status: Type.Optional(Status),
    acknowledged: Type.Optional(Type.Boolean()),
    severity: Type.Optional(Str(100, { description: "Comma-separated: critical,major,minor,warning" })),
    device: Type.Optional(Str(200)),
    commune: Type.Optional(Str(40)),
    agency: Type.Optional(Str(40)),
    type: Type.Optional(Str(100)),
    from: Type.Optional(Type.String({ format: "date-time", description: "Started at or after" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "Started before" })),
    ...Paging,
  },
  { additionalProperties: false },
);

export const AlarmParams = Type.Object({ id: Str(64) });

export const ClearBody = Type.Object({ comment: Type.Optional(Str(2000)) }, { additionalProperties: false });

export const AssignBody = Type.Object(
  {
    agency: Type.Optional(Nullable(Str(40, { minLength: 1 }))),
    user: Type.Optional(Nullable(Type.String({ format: "uuid" }))),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CommentBody = Type.Object({ text: Str(2000, { minLength: 1 }) }, { additionalProperties: false });

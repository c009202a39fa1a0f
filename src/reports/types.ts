// The shapes of the reports module: categories (Open311 services), reports and their timeline.

export const GROUPS = ["environment", "traffic", "public_order", "infrastructure", "utilities", "health", "markets", "administration", "other"] as const;
export type Group = (typeof GROUPS)[number];

export const STATUSES = ["new", "assigned", "in_progress", "resolved", "closed", "rejected", "duplicate", "reopened"] as const;
export type Status = (typeof STATUSES)[number];
/** Statuses in which the responsible agency still owes an answer (the deadline runs). */
export const OPEN_STATUSES: readonly Status[] = ["new", "assigned", "in_progress", "reopened"];

export const CHANNELS = ["app", "web", "hotline", "zalo", "email", "open311"] as const;
export type Channel = (typeof CHANNELS)[number];

export const DATATYPES = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] as const;
export type Datatype = (typeof DATATYPES)[number];

export interface AttributeValue {
  key: string;
  name: string;
  nameEn?: string;
}

export interface Attribute {
  code: string;
  datatype: Datatype;
  required: boolean;
  description: string;
  descriptionEn?: string;
  order: number;
  /** false: information shown to the user, no input. */
  variable?: boolean;
  datatypeDescription?: string;
  values?: AttributeValue[];
}

export interface CategoryInput {
  code: string;
  group: Group;
  name: string;
  nameEn: string;
  description?: string;
  descriptionEn?: string;
  keywords?: string;
  level: "commune" | "province";
  /** The handling agency of a province-level category. */
  agency?: string | null;
  deadlineHours: number;
  attributes?: Attribute[];
  active?: boolean;
}

export interface Category {
  code: string;
  group: Group;
  name: string;
  nameEn: string;
  description: string;
  descriptionEn: string;
  keywords: string;
  level: "commune" | "province";
  agency: string | null;
  deadlineHours: number;
  attributes: Attribute[];
  active: boolean;
}

/** A report as staff see it (personal data included). */
export interface ReportDto {
  id: string;
  token: string;
  category: string;
  categoryName: string;
  group: Group;
  channel: Channel;
  status: Status;
  description: string;
  lat: number | null;
  lon: number | null;
  address: string | null;
  commune: string | null;
  attributes: Record<string, unknown>;
  mediaUrl: string | null;
  agency: string;
  assigneeUser: string | null;
  duplicateOf: string | null;
  statusNotes: string | null;
  requestedAt: string;
  updatedAt: string;
  deadlineAt: string;
  overdue: boolean;
  resolvedAt: string | null;
  closedAt: string | null;
  rating: number | null;
  ratingComment: string | null;
  followers: number;
  photos: PhotoDto[];
  reporter?: { name: string | null; phone: string | null; email: string | null; userId: string | null };
}

export interface PhotoDto {
  id: string;
  kind: "report" | "fix";
  url: string;
  thumbUrl: string;
  width: number;
  height: number;
}

export interface UpdateDto {
  id: string;
  at: string;
  kind: string;
  status: Status | null;
  note: string | null;
  public: boolean;
  agency: string | null;
  actor: string;
}

export interface NewReport {
  category: string;
  description: string;
  /** Open311 makes the description optional. */
  descriptionOptional?: boolean;
  lat?: number | null;
  lon?: number | null;
  address?: string | null;
  /** A hotline operator may name the commune when only an address is known. */
  commune?: string | null;
  attributes?: Record<string, unknown>;
  mediaUrl?: string | null;
  channel: Channel;
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  deviceId?: string | null;
  clientKey?: string | null;
}

/** A photo after validation and re-encoding (see photos.ts). */
export interface PreparedPhoto {
  mime: "image/jpeg" | "image/png" | "image/webp";
  width: number;
  height: number;
  data: Buffer;
  thumb: Buffer;
}

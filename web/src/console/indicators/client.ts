// Types and small helpers shared by the indicators pages (the API is src/indicators/routes.ts).
export type Status = "met" | "on_track" | "at_risk" | "off_track" | "no_data";

export interface Fit {
  method: "linear" | "holt";
  year: number;
  value: number;
  low: number;
  high: number;
  slopePerYear: number;
  reachesYear: number | null;
}

export interface Target {
  id: string;
  sector: string;
  name: string;
  nameEn: string;
  unit: string;
  goals: Array<{ year?: number; value?: number | boolean; min?: number; max?: number; recurring?: string }>;
  baseline: number | null;
  system: string | null;
  indicator: string;
  series: Array<{ period: string; value: number }>;
  latest: { period: string; value: number } | null;
  goal: { year: number; value: number; max?: number; deadline: string } | null;
  status: Status;
  nextDate: string | null;
  forecast: Fit | null;
  linear: Fit | null;
  holt: Fit | null;
}

export interface Scorecard {
  date: string;
  orgUnit: string;
  targets: Target[];
  sectors: Array<{ sector: string; targets: number; met: number; onTrack: number; atRisk: number; offTrack: number; noData: number }>;
  nextDxDay: string;
}

export interface Task {
  id: string;
  system: string | null;
  title: string;
  titleEn: string;
  leadAgency: string | null;
  deadline: string | null;
  status: "planned" | "in_progress" | "done" | "delayed" | "cancelled";
  percent: number;
  evidence: Array<{ title: string; url: string }>;
  overdue: boolean;
  nextDate?: string;
}

export type SubmissionState = "draft" | "submitted" | "agency_approved" | "approved" | "returned";

export interface Submission {
  dataSet: string;
  orgUnit: string;
  period: string;
  state: SubmissionState;
  locked: boolean;
  dueAt: string;
  submittedAt: string | null;
  submittedBy: string | null;
  onTime: boolean | null;
  approvedAt: string | null;
  approvedBy: string | null;
  agencyApprovedBy: string | null;
  returnedBy: string | null;
  returnReason: string | null;
  needsAgencyApproval: boolean;
}

export interface Violation {
  rule: string;
  name: string;
  message: string;
  messageEn: string;
  left: number | null;
  operator: string;
  right: number | null;
}

export interface FormField {
  dataElement: string;
  name: string;
  nameEn: string;
  description: string;
  valueType: "number" | "integer" | "percent" | "boolean" | "text";
  unit: string;
  min: number | null;
  max: number | null;
  disaggregations: Array<{ id: string; name: string; nameEn: string }>;
}

export interface FormData {
  dataSet: { id: string; name: string; nameEn: string; description: string; periodType: string };
  orgUnit: { id: string; name: string; nameEn: string };
  period: { id: string; start: string; end: string };
  fields: FormField[];
  values: Array<{ dataElement: string; categoryOptionCombo: string; value: string; comment?: string }>;
  submission: Submission;
  history: Array<{ action: string; reason: string | null; actor: string; at: string }>;
  canEdit: boolean;
  editProblem: string | null;
  canApprove: boolean;
  violations: Violation[];
}

export const STATUS_COLORS: Record<Status, string> = {
  met: "#1b7f3b",
  on_track: "#2e9e57",
  at_risk: "#d38b00",
  off_track: "#c0392b",
  no_data: "#8a949e",
};

/** The tone class of a status chip (green, amber, red, grey). */
export const statusTone = (s: Status) => (s === "met" || s === "on_track" ? "green" : s === "at_risk" ? "amber" : s === "off_track" ? "red" : "grey");

export const pick = <T extends { name: string; nameEn: string }>(x: T, lang: string) => (lang === "en" ? x.nameEn : x.name);

export const formUrl = (ds: string, ou: string, pe: string) =>
  `/indicators/forms/${encodeURIComponent(ds)}/${encodeURIComponent(ou)}/${encodeURIComponent(pe)}`;

/** A client-side check of a typed value (the server checks again): an error key or null. */
export function checkInput(f: FormField, raw: string): { key: string; opts?: Record<string, unknown> } | null {
  const s = raw.trim();
  if (s === "" || f.valueType === "text" || f.valueType === "boolean") return null;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return { key: "indicators.invalidNumber" };
  const n = Number(s);
  if (f.valueType === "integer" && !Number.isInteger(n)) return { key: "indicators.invalidInteger" };
  if (f.valueType === "percent" && (n < 0 || n > 100)) return { key: "indicators.invalidPercent" };
  if (f.min !== null && n < f.min) return { key: "indicators.belowMin", opts: { min: f.min } };
  if (f.max !== null && n > f.max) return { key: "indicators.aboveMax", opts: { max: f.max } };
  return null;
}

/** Recent periods of a type ending with the current one (Vietnam time), newest first. */
export function recentPeriods(type: string, n: number): string[] {
  const now = new Date(Date.now() + 7 * 3600_000);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() + 1;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (type === "yearly") out.push(String(y - i));
    else if (type === "quarterly") {
      const idx = y * 4 + Math.ceil(m / 3) - 1 - i;
      out.push(`${Math.floor(idx / 4)}Q${(idx % 4) + 1}`);
    } else {
      const idx = y * 12 + m - 1 - i;
      out.push(`${Math.floor(idx / 12)}${String((idx % 12) + 1).padStart(2, "0")}`);
    }
  }
  return out;
}

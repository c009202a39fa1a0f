// Shapes of the alerts API as the console and the citizen app use them.
export interface InfoText {
  language: string;
  event: string;
  headline: string;
  description: string;
  instruction?: string;
  web?: string;
  contact?: string;
  senderName?: string;
}

export interface Circle {
  lat: number;
  lon: number;
  radiusKm: number;
}

export interface AlertArea {
  description: string;
  communes: string[];
  polygons: Array<Array<[number, number]>>;
  circles: Circle[];
}

export interface Alert {
  id: string;
  identifier: string;
  origin: "sen" | "import";
  state: "draft" | "submitted" | "published" | "discarded";
  current: boolean;
  hazard: string;
  sender: string;
  senderName: string;
  agency: string | null;
  status: string;
  msgType: "Alert" | "Update" | "Cancel";
  note: string | null;
  referencesId: string | null;
  references: string | null;
  categories: string[];
  responseTypes: string[];
  urgency: string;
  severity: "Extreme" | "Severe" | "Moderate" | "Minor" | "Unknown";
  certainty: string;
  onset: string | null;
  expires: string | null;
  infos: InfoText[];
  area: AlertArea;
  communes: string[];
  source: { alarmId: string | null; deviceId: string | null } | null;
  createdBy: string | null;
  createdByName: string;
  submittedBy: string | null;
  submittedAt: string | null;
  approvedByName: string | null;
  sent: string | null;
  endedAt: string | null;
  endReason: string | null;
  supersededBy: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  capUrl: string | null;
}

export interface TemplateText {
  event: string;
  headline: string;
  description: string;
  instruction: string;
}

export interface Template {
  hazard: string;
  categories: string[];
  responseTypes: string[];
  urgency: string;
  severity: string;
  certainty: string;
  expiresHours: number;
  vi: TemplateText;
  en: TemplateText;
}

export interface Progress {
  matched: number;
  fanoutDone: boolean;
  sent: number;
  failed: number;
  pending: number;
  byChannel: Record<string, { sent: number; failed: number }>;
  recent: Array<{ subscriptionId: string; deliveryId: string; channel: string; status: string; attempts: number; detail: string | null; at: string }>;
}

export const HAZARDS = ["flood", "storm", "pest", "epidemic", "salinity", "other"] as const;
export const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"] as const;
export const URGENCIES = ["Immediate", "Expected", "Future", "Past", "Unknown"] as const;
export const CERTAINTIES = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"] as const;
export const CATEGORIES = ["Met", "Geo", "Health", "Env", "Safety", "Security", "Rescue", "Fire", "Transport", "Infra", "CBRNE", "Other"] as const;

/** The info in a language (vi or en), falling back to the first. */
export const infoIn = (a: Pick<Alert, "infos">, lang: string): InfoText | undefined => a.infos.find((i) => i.language.startsWith(lang)) ?? a.infos[0];

export const isSevere = (a: Pick<Alert, "severity">) => a.severity === "Extreme" || a.severity === "Severe";

// Roles and what they may do. Routes name a permission; a role grants a set of them. Later
// modules add their permissions here so the whole policy stays readable in one place.

export const ROLES = ["admin", "operator", "agency_officer", "publisher", "citizen"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "console:use", // open the operations console
  "users:read",
  "users:manage",
  "agencies:manage",
  "apikeys:manage",
  "audit:read",
  "events:read",
  "geo:manage",
  "devices:read",
  "devices:manage",
  "devices:command",
  "alarms:read",
  "alarms:manage",
  "indicators:read", // indicators, analytics, the plan's scorecard and tasks, completeness
  "data:enter", // fill and submit the periodic report forms of one's own unit (agency or commune)
  "data:approve", // approve or return reports: a form's agency, then the province
  "indicators:manage", // define data elements, indicators, forms, rules; the plan's tasks
  "alerts:read", // see draft and submitted warnings, delivery progress
  "alerts:draft", // write, edit and submit warnings
  "alerts:approve", // approve (publish), return, cancel warnings written by someone else
  "alerts:manage", // import other authorities' CAP, register system (webhook) subscribers
  "reports:read", // the agency's queue of citizen reports
  "reports:manage", // handle reports (status, notes, re-routing)
  "reports:submit", // file reports for citizens (hotline, Open311 clients with an API key)
  "reports:configure", // categories, routing, gateways
  "datasets:read-private", // see private and draft datasets of one's own agency (all, with agencies:manage)
  "datasets:publish", // create, change, upload to and publish datasets of one's own agency
  "context:read", // NGSI-LD: read every entity type (not only the public ones), subscriptions
  "context:write", // NGSI-LD: create, change and delete entities and subscriptions (agency users: their tenant)
  "context:manage", // NGSI-LD: mark entity types public, register JSON-LD contexts
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const STAFF: Permission[] = ["console:use", "events:read", "users:read"];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  operator: [
    ...STAFF,
    "indicators:read",
    "devices:read",
    "alerts:read",
    "alerts:draft",
    "alerts:approve",
    "alerts:manage",
    "devices:manage",
    "devices:command",
    "alarms:read",
    "alarms:manage",
    "reports:read",
    "reports:manage",
    "reports:submit",
    "context:read",
    "context:write",
    "context:manage",
  ],
  agency_officer: [
    ...STAFF,
    "indicators:read",
    "data:enter",
    "data:approve",
    "devices:read",
    "alerts:read",
    "alerts:draft",
    "devices:command",
    "alarms:read",
    "alarms:manage",
    "reports:read",
    "reports:manage",
    "reports:submit",
    "datasets:read-private",
    "datasets:publish",
    "context:read",
    "context:write",
    "context:manage",
  ],
  publisher: [
    ...STAFF,
    "indicators:read",
    "devices:read",
    "alerts:read",
    "alerts:draft",
    "alerts:approve",
    "alarms:read",
    "reports:read",
    "datasets:read-private",
    "datasets:publish",
    "context:read",
  ],
  citizen: [],
};

export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  const set = new Set<Permission>();
  for (const r of roles) for (const p of ROLE_PERMISSIONS[r] ?? []) set.add(p);
  return set;
}

export function isRole(x: string): x is Role {
  return (ROLES as readonly string[]).includes(x);
}

export function isPermission(x: string): x is Permission {
  return (PERMISSIONS as readonly string[]).includes(x);
}

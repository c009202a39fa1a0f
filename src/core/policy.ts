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
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const STAFF: Permission[] = ["console:use", "events:read", "users:read"];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  operator: [...STAFF, "devices:read", "devices:manage", "devices:command", "alarms:read", "alarms:manage"],
  agency_officer: [...STAFF, "devices:read", "devices:command", "alarms:read", "alarms:manage"],
  publisher: [...STAFF, "devices:read", "alarms:read"],
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

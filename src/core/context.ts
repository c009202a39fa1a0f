// Who is asking and from where, bound to the async flow of each request (and of CLI commands),
// so the audit trail and access checks never need it passed by hand.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Permission, Role } from "./policy.ts";

export interface Actor {
  type: "user" | "apikey" | "system" | "anonymous";
  id?: string;
  name: string;
  roles: Role[];
  permissions: Set<Permission>;
  agency?: string;
  /** The session behind a user actor, so logout can revoke exactly it. */
  sessionId?: string;
}

export interface RequestContext {
  requestId?: string;
  ip?: string;
  actor: Actor;
}

export const SYSTEM: Actor = { type: "system", name: "system", roles: [], permissions: new Set() };
export const ANONYMOUS: Actor = { type: "anonymous", name: "anonymous", roles: [], permissions: new Set() };

const als = new AsyncLocalStorage<RequestContext>();

export function currentContext(): RequestContext {
  return als.getStore() ?? { actor: SYSTEM };
}

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return als.run(ctx, fn);
}

export function can(actor: Actor, permission: Permission): boolean {
  return actor.type === "system" || actor.permissions.has(permission);
}

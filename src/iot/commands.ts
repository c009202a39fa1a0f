// Commands to devices: one-way and two-way RPC over MQTT, with a timeout and a stored result.
import type { AuditService } from "../core/audit/service.ts";
import type { Actor } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { storableJson, storableVersion } from "../core/text.ts";
import type { RpcTransport } from "./mqtt.ts";
import type { CommandRow, IotStore } from "./store.ts";

export interface CommandDto {
  id: string;
  deviceId: string;
  method: string;
  params: unknown;
  twoWay: boolean;
  status: string;
  response: unknown;
  error: string | null;
  createdBy: string;
  createdAt: string;
  completedAt: string | null;
}

const toDto = (r: CommandRow): CommandDto => ({
  id: r.id,
  deviceId: r.device_id,
  method: r.method,
  params: r.params,
  twoWay: r.two_way,
  status: r.status,
  response: r.response,
  error: r.error,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at).toISOString(),
  completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
});

export function commandService({ db, audit, store, transport }: { db: Db; audit: AuditService; store: IotStore; transport: () => RpcTransport | undefined }) {
  let nextRequestId = 1;
  const waiting = new Map<string, (payload: Buffer) => void>();
  let listening = false;

  function listen(t: RpcTransport) {
    if (listening) return;
    listening = true;
    t.onResponse((deviceId, requestId, payload) => waiting.get(`${deviceId}:${requestId}`)?.(payload));
  }

  return {
    async send(deviceId: string, input: { method: string; params?: unknown; oneway?: boolean; timeoutMs?: number }, actor: Actor): Promise<CommandDto> {
      const t = transport();
      const twoWay = !input.oneway;
      const timeoutMs = input.timeoutMs ?? 10_000;
      const created = await db.tx(async () => {
        const row = await store.insertCommand({
          deviceId,
          method: input.method,
          params: input.params,
          twoWay,
          status: "sent",
          timeoutMs,
          createdBy: actor.name,
        });
        if (!row) throw new Error("command insert returned nothing");
        await audit.record({ action: "device.rpc", targetType: "device", targetId: deviceId, details: { commandId: row.id, method: input.method, twoWay } });
        return row;
      });
      if (!t) return toDto((await store.completeCommand(created.id, "offline", undefined, "no MQTT transport is running")) as CommandRow);
      listen(t);
      const requestId = nextRequestId++;
      const key = `${deviceId}:${requestId}`;
      const response = twoWay
        ? new Promise<Buffer | undefined>((resolve) => {
            const timer = setTimeout(() => {
              waiting.delete(key);
              resolve(undefined);
            }, timeoutMs);
            waiting.set(key, (payload) => {
              clearTimeout(timer);
              waiting.delete(key);
              resolve(payload);
            });
          })
        : undefined;
      const delivered = await t.sendRequest(deviceId, requestId, { method: input.method, params: input.params ?? {} });
      if (!delivered) {
        waiting.get(key)?.(Buffer.alloc(0));
        return toDto((await store.completeCommand(created.id, "offline", undefined, "the device is not connected")) as CommandRow);
      }
      if (!response) return toDto((await store.completeCommand(created.id, "delivered", undefined, null)) as CommandRow);
      const payload = await response;
      if (!payload) return toDto((await store.completeCommand(created.id, "timeout", undefined, `no response within ${timeoutMs} ms`)) as CommandRow);
      // Kept as JSON when it is JSON the database can store, else as (storable) text.
      const text = storableVersion(payload.toString("utf8").slice(0, 65_536));
      let body: unknown = text;
      try {
        const parsed: unknown = JSON.parse(text);
        if (storableJson(parsed)) body = parsed;
      } catch {}
      return toDto((await store.completeCommand(created.id, "succeeded", body, null)) as CommandRow);
    },
    list: async (deviceId: string, limit: number) => (await store.listCommands(deviceId, limit)).map(toDto),
  };
}

export type CommandService = ReturnType<typeof commandService>;

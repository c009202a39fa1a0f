// The IoT module: what it offers the rest of Sen.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { IotService } from "./service.ts";
import type { KeySpec, RuleSpec } from "./types.ts";

export { iotService, type IotService, type CachedDevice, type DeviceDto } from "./service.ts";
export { commandService, type CommandService } from "./commands.ts";
export { startEmbeddedBroker, type EmbeddedBroker, type RpcTransport } from "./mqtt.ts";
export { iotRoutes } from "./routes.ts";

export const IOT_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

interface ProfileSource {
  id: string;
  name: string;
  nameEn: string;
  type: string;
  keys: Record<string, KeySpec>;
  inactivityTimeoutSeconds: number;
  retentionDays: number;
  rules: RuleSpec[];
}

/** Load the standard device profiles (data/iot/profiles.json). Idempotent. */
export async function seedProfiles(iot: IotService, dataDir: string): Promise<number> {
  const file = JSON.parse(readFileSync(path.join(dataDir, "iot", "profiles.json"), "utf8")) as { profiles: ProfileSource[] };
  for (const p of file.profiles)
    await iot.upsertProfile({
      id: p.id,
      name: p.name,
      name_en: p.nameEn,
      type: p.type,
      keys: p.keys,
      inactivity_timeout_s: p.inactivityTimeoutSeconds,
      retention_days: p.retentionDays,
      rules: p.rules,
    });
  return file.profiles.length;
}

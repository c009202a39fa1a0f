// ThingsBoard's device-API topics on the embedded broker: a device speaks for itself ("me").
// Shared by Sen's side (mqtt.ts) and the broker's thread (mqtt-worker.ts).
export const TELEMETRY = "v1/devices/me/telemetry";
export const ATTRIBUTES = "v1/devices/me/attributes";
export const RPC_REQUEST = "v1/devices/me/rpc/request/";
export const RPC_RESPONSE = "v1/devices/me/rpc/response/";

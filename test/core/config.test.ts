// Configuration from the environment: safe defaults, and a message naming the variable when wrong.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/core/config.ts";

describe("configuration", () => {
  it("has safe defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: "0.0.0.0", mqttPort: 1883, province: "82", demo: false, logLevel: "info", corsOrigins: [], web: true });
    expect(c.dataDir).toBe(path.resolve("./var"));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminPassword).toBeUndefined();
  });

  it("reads every variable", () => {
    const c = loadConfig({
      PORT: "9000",
      HOST: "127.0.0.1",
      MQTT_PORT: "11883",
      SEN_DATA_DIR: "/srv/sen",
      DATABASE_URL: "postgres://sen@db:5432/sen",
      SEN_ADMIN_PASSWORD: "long-enough",
      SEN_PROVINCE: "87",
      SEN_DEMO: "1",
      LOG_LEVEL: "debug",
      SEN_CORS_ORIGINS: "https://a.gov.vn, https://b.gov.vn",
    });
    expect(c).toMatchObject({
      port: 9000,
      host: "127.0.0.1",
      mqttPort: 11883,
      dataDir: "/srv/sen",
      databaseUrl: "postgres://sen@db:5432/sen",
      adminPassword: "long-enough",
      province: "87",
      demo: true,
      logLevel: "debug",
      corsOrigins: ["https://a.gov.vn", "https://b.gov.vn"],
    });
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["MQTT_PORT", "-1"],
    ["DATABASE_URL", "mysql://root@localhost/sen"],
    ["DATABASE_URL", "not a url"],
    ["SEN_ADMIN_PASSWORD", "short"],
    ["SEN_PROVINCE", "Dong Thap"],
    ["SEN_DEMO", "maybe"],
    ["LOG_LEVEL", "loud"],
    ["SEN_CORS_ORIGINS", "not an origin"],
    ["HOST", "bad host!"],
  ])("stops on %s=%s with a message naming the variable", (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(new RegExp(`^${name}: `));
  });
});

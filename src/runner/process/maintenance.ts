import fs from "node:fs";
import type { Config } from "../../config/schema.js";

/**
 * Maintenance mode (PKP refuses to run jobs during upgrades): `maintenance: true` in the
 * config, or the path of a flag file that is present. Returns why, or undefined when off.
 */
export function maintenanceReason(config: Config): string | undefined {
  if (config.maintenance === true) return "maintenance is set in the config";
  if (typeof config.maintenance === "string" && fs.existsSync(config.maintenance)) return `the maintenance flag file ${config.maintenance} exists`;
  return undefined;
}

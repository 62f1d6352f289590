// Writes docs/configuration.md from the config schema (src/config/describe-config.ts); run after a build.
import fs from "node:fs";
import { describeConfig } from "../dist/src/config/describe-config.js";

fs.writeFileSync(new URL("../docs/configuration.md", import.meta.url), describeConfig());
process.stdout.write("wrote docs/configuration.md\n");

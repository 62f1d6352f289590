import { galeraUnavailable } from "../helpers/galera.js";
import { claimsOnTheCluster } from "./claims.js";
import { runsThroughTheStorm } from "./runs-storm.js";
import { workersThroughTheStorm } from "./workers-storm.js";

/**
 * The tests on the three-node Galera cluster of scripts/galera.sh (docs/reliability.md, "A Galera
 * cluster"), in one file because node's test runner runs files at once and these must take turns
 * on the one cluster: they kill, freeze and desync its nodes. Skipped, saying why, when the
 * cluster is not running (`bash scripts/galera.sh start`; CI starts it before `npm test`).
 * OJ_GALERA_JOBS sets the storms' size: 300 in `npm test`, 3,000 in `npm run test:galera`.
 */

const unavailable = await galeraUnavailable();
const skip = unavailable ? `no Galera cluster: ${unavailable}` : false;

claimsOnTheCluster(skip);
runsThroughTheStorm(skip);
workersThroughTheStorm(skip);

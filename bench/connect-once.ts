/**
 * The cold-start reference's second half (bench/cold-start.ts): a Node process that loads
 * mysql2, opens one connection to OJ_BENCH_URL, runs one query and closes it. What any
 * program that asks MySQL something at all pays, beside Node's own start.
 */
import mysql from "mysql2/promise";

const connection = await mysql.createConnection(process.env.OJ_BENCH_URL!);
await connection.query("SELECT 1");
await connection.end();

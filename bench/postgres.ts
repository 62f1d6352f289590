/** pg, for the benches that measure graphile-worker beside offline-jobs: the one module that imports it. */
export type Pg = typeof import("pg").default;

/**
 * A connected client to PG_URL (else postgres://postgres@127.0.0.1:5432/DATABASE), with pg
 * itself and the URL; or the sentence the bench prints instead of the peer's figures when
 * PostgreSQL does not answer.
 */
export async function connectPostgres(database: string): Promise<{ pg: Pg; admin: InstanceType<Pg["Client"]>; pgUrl: string } | string> {
  const pgUrl = process.env.PG_URL ?? `postgres://postgres@127.0.0.1:5432/${database}`;
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
  } catch (error) {
    return `skipped: PostgreSQL does not answer at ${pgUrl} (${(error as Error).message})`;
  }
  return { pg, admin, pgUrl };
}

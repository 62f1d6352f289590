import assert from "node:assert/strict";
import { test } from "node:test";
import { useTestDatabase } from "../helpers/database.js";
import { makePage } from "./web-harness.js";

/**
 * A job's log followed live over Server-Sent Events: new text as it is written, each event's
 * id the characters sent so far, a reconnect with Last-Event-ID resuming exactly there, and an
 * "end" event once the job has ended and its process let it go.
 */

const database = useTestDatabase();

interface Event {
  event: string;
  data: string;
  id?: string;
}

/** Reads events from an SSE response as they come. */
function eventReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(timeoutMs = 10_000): Promise<Event> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: Event = { event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            const [field, ...rest] = line.split(": ");
            if (field === "event") event.event = rest.join(": ");
            else if (field === "data") data.push(rest.join(": "));
            else if (field === "id") event.id = rest.join(": ");
          }
          event.data = data.join("\n");
          return event;
        }
        if (Date.now() > deadline) throw new Error(`no event within ${timeoutMs} ms; so far: ${JSON.stringify(buffer)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended; left: ${JSON.stringify(buffer)}`);
        buffer += decoder.decode(value, { stream: true });
      }
    },
    async nextOf(kind: string): Promise<Event> {
      for (;;) {
        const event = await this.next();
        if (event.event === kind) return event;
      }
    },
    close: () => reader.cancel(),
  };
}

test("the log streams as it grows, resumes after a reconnect from Last-Event-ID, and ends with the job", async () => {
  const ref = await database.insertJob(
    "noop",
    {},
    { status: "running", attempts: 1, progress: 10, locked_by: "h:1", lease_until: new Date(Date.now() + 60_000), log: "first line ✓\n" },
  );
  const page = await makePage(database, { web: { localAdmin: true } });
  const first = eventReader(await page.request(`/job/${ref}/log?from=0`));
  const opening = await first.nextOf("log");
  assert.equal(opening.data, "first line ✓\n");
  assert.equal(opening.id, String([..."first line ✓\n"].length), "the id counts characters, as the server does");
  const state = await first.nextOf("state");
  assert.deepEqual(JSON.parse(state.data), { status: "running", progress: 10, attempts: 1 });
  await database.query("UPDATE job_queue SET log = CONCAT(log, 'second line\\n'), progress = 55 WHERE ref = ?", [ref]);
  const grown = await first.nextOf("log");
  assert.equal(grown.data, "second line\n", "only the new text");
  assert.deepEqual(JSON.parse((await first.nextOf("state")).data).progress, 55);
  await first.close();

  const resumed = eventReader(await page.request(`/job/${ref}/log?from=0`, { headers: { "last-event-id": opening.id! } }));
  assert.equal((await resumed.nextOf("log")).data, "second line\n", "Last-Event-ID wins over ?from and resumes after what was sent");
  await database.query("UPDATE job_queue SET status = 'complete', lease_until = NULL, finished_at = NOW(3), log = CONCAT(log, 'done\\n') WHERE ref = ?", [ref]);
  assert.equal((await resumed.nextOf("log")).data, "done\n");
  assert.equal((await resumed.nextOf("end")).data, "complete");
});

test("a bad offset is a 400 and a missing job a 404", async () => {
  const page = await makePage(database, { web: { localAdmin: true } });
  assert.equal((await page.request("/job/1/log", { headers: { "last-event-id": "abc" } })).status, 400);
  assert.equal((await page.request("/job/987654/log")).status, 404);
});

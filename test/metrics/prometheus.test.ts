import assert from "node:assert/strict";
import { test } from "node:test";
import { renderExposition } from "../../src/metrics/prometheus.js";

/** The exposition renderer's escaping and number spelling, as the format's spec gives them. */

test("HELP text escapes backslash and line feed; label values also the double quote", () => {
  const text = renderExposition([
    { name: "offline_jobs_x", help: 'a \\ b\nc "quoted"', type: "gauge", samples: [{ labels: { type: 'a\\b"c\nd' }, value: 1 }] },
  ]);
  assert.equal(text, '# HELP offline_jobs_x a \\\\ b\\nc "quoted"\n# TYPE offline_jobs_x gauge\noffline_jobs_x{type="a\\\\b\\"c\\nd"} 1\n');
});

test("special values are spelt NaN, +Inf and -Inf", () => {
  const text = renderExposition([
    { name: "v", help: "h", type: "untyped", samples: [{ value: NaN }, { value: Infinity }, { value: -Infinity }, { value: 0.25 }] },
  ]);
  assert.deepEqual(text.trim().split("\n").slice(2), ["v NaN", "v +Inf", "v -Inf", "v 0.25"]);
});

test("an invalid metric or label name, or a family given twice, is refused rather than written", () => {
  assert.throws(() => renderExposition([{ name: "offline-jobs", help: "h", type: "gauge", samples: [] }]), /metric name/);
  assert.throws(() => renderExposition([{ name: "m", help: "h", type: "gauge", samples: [{ labels: { "a-b": "x" }, value: 1 }] }]), /label name/);
  const family = { name: "m", help: "h", type: "gauge" as const, samples: [] };
  assert.throws(() => renderExposition([family, family]), /twice/);
});

/**
 * Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector and
 * any scraper read it. Hand-written rather than prom-client: we render a snapshot once, and
 * need neither a registry nor collectors. Escaping follows the format's spec: in HELP text a
 * backslash and a line feed are escaped; in label values a double quote too.
 */

export type MetricType = "gauge" | "counter" | "untyped";

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Go's ParseFloat spelling, which the format uses: NaN, +Inf, -Inf, else a plain number. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  for (const [name] of entries) {
    // Names come from our code, never from data: a bad one is a programming error.
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`invalid Prometheus label name: ${name}`);
  }
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** The families as one exposition text: HELP and TYPE before each family's samples, ending in a line feed. */
export function renderExposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid Prometheus metric name: ${family.name}`);
    // The format allows each family once: a second block would make node_exporter reject the file.
    if (seen.has(family.name)) throw new Error(`metric family ${family.name} rendered twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

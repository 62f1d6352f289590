#!/usr/bin/env bash
# The demo queue: builds offline-jobs, creates a throw-away database (offline_jobs_demo) and a
# config in a temporary folder, queues real jobs the way an application would (offline-jobs
# add, and plain SQL INSERTs), runs them once the way cron does, and prints list, stats and
# show. It exits non-zero if any job did not end as expected, so it doubles as a smoke test.
#
#   npm run demo                  (or: bash scripts/demo.sh)
#   OFFLINE_JOBS_DEMO_SERVER_URL=mysql://user:pass@host:3306 npm run demo
#
# The database is dropped and re-created at every run and left behind for a look afterwards;
# the temporary folder (config, files, locks) is removed.
#
# One section per job type: a demo_<type> function that makes its input files under $FILES
# and queues its jobs with `enqueue EXPECTED-STATUS add-arguments…` (or `enqueue_sql`).
# To add a type: give it a function, add its name to SECTIONS, and put the options it needs
# into write_config.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# The demo uses its own config and database, whatever the caller's environment says.
unset OFFLINE_JOBS_CONFIG OFFLINE_JOBS_DATABASE_URL

SECTIONS=(noop command media downloads files application)

SERVER_URL=${OFFLINE_JOBS_DEMO_SERVER_URL:-mysql://root@127.0.0.1:3306}
SERVER_URL=${SERVER_URL%/}
DATABASE=offline_jobs_demo
DATABASE_URL="$SERVER_URL/$DATABASE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/offline-jobs-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
CONFIG=$WORK/config.json
FILES=$WORK/files # the read root: inputs of the jobs
OUT=$WORK/out     # the write root: outputs of the jobs
mkdir -p "$FILES" "$OUT"

# ref:expected-status of every job queued, checked after the run.
EXPECT=()
LAST_REF=

if [ -t 1 ]; then BOLD=$'\e[1m' PLAIN=$'\e[0m'; else BOLD= PLAIN=; fi

heading() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$PLAIN"; }

# The URL as it may be printed: without its password.
redacted() { sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

# Prints a command line the way it would be typed, quoting what needs it.
show_command() {
  local out="\$" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=+@%,-]+$ ]]; then out+=" $arg"; else out+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$out"
}

# offline-jobs with the demo's config.
oj() { node "$ROOT/bin/offline-jobs" --config "$CONFIG" "$@"; }

# Shows, then runs, an offline-jobs command.
oj_shown() {
  show_command offline-jobs "$@"
  oj "$@"
}

# sql URL STATEMENT: runs one statement with the project's own driver (no client program
# needed, any server URL works); prints the insert id of an INSERT.
sql() {
  DEMO_SQL_URL=$1 DEMO_SQL=$2 node --input-type=module -e '
    import mysql from "mysql2/promise";
    let connection;
    try {
      connection = await mysql.createConnection(process.env.DEMO_SQL_URL);
      const [result] = await connection.query(process.env.DEMO_SQL);
      if (result.insertId) console.log(result.insertId);
    } catch (error) {
      console.error(`demo: SQL failed: ${error.message}`); // mysql2 messages never hold the password
      process.exitCode = 1;
    } finally {
      await connection?.end();
    }'
}

# enqueue EXPECTED ARGS…: `offline-jobs add ARGS…`; remembers the ref (LAST_REF) and what
# the job should have become after the run.
enqueue() {
  local expected=$1
  shift
  show_command offline-jobs add "$@"
  LAST_REF=$(oj add "$@")
  echo "  -> job $LAST_REF"
  EXPECT+=("$LAST_REF:$expected")
}

# enqueue_sql EXPECTED STATEMENT: an application's own INSERT into the job table.
enqueue_sql() {
  local expected=$1
  printf '%s\n' "mysql> $2;"
  LAST_REF=$(sql "$DATABASE_URL" "$2")
  echo "  -> job $LAST_REF"
  EXPECT+=("$LAST_REF:$expected")
}

json_string() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

write_config() {
  cat >"$CONFIG" <<EOF
{
  "//": "Written by scripts/demo.sh. Relative paths are relative to this file.",
  "database": { "url": $(json_string "$DATABASE_URL"), "table": "job_queue" },
  "lockDir": "./locks",
  "maxJobs": 2,
  "leaseSeconds": 30,
  "paths": { "readRoots": ["./files"], "writeRoots": ["./out", "./downloads"] },
  "downloads": { "dir": "./downloads", "baseUrl": "https://example.org/downloads/", "ttlHours": 72 },
  "previews": { "outputDir": "./out/previews" },
  "commands": {
    "zip-file": { "argv": ["zip", "-j", "-q", "{output}", "{file}"], "timeoutSeconds": 60, "args": { "file": "read" }, "usableBy": ["create_download_file"] },
    "hello": { "argv": ["echo", "hello", "{name}"], "timeoutSeconds": 10, "args": { "name": { "pattern": ".{1,100}" } }, "usableBy": ["command"] },
    "checksum": { "argv": ["sha256sum", "{file}"], "timeoutSeconds": 60, "args": { "file": "read" }, "usableBy": ["command"] }
  },
  "types": {
    "noop": { "maxAttempts": 3, "backoff": { "initialSeconds": 60, "maxSeconds": 600 } }
  }
}
EOF
}

# --- sections: one per job type -----------------------------------------------------------

demo_noop() {
  heading "noop: does nothing, sleeps, or fails on request"
  enqueue complete noop --data '{"sleepMs": 300}'
  enqueue complete noop --data '{"sleepMs": 800}' --user alice
  enqueue complete noop --data '{"sleepMs": 500}' --priority 0 # immediate: runs before the others
  enqueue failed noop --data '{"fail": "permanent"}' --user bob --failure-text 'Sorry {user}, job {ref} failed: {error}'
  # A transient failure goes back to pending with a backoff (60 s here), so it is still due later.
  enqueue pending noop --data '{"fail": "transient"}'
  # Not before an hour from now: stays pending.
  enqueue pending noop --run-at +1h
}

demo_command() {
  heading "command: templates from the config, run without a shell"
  printf 'offline-jobs demo file\n' >"$FILES/report.txt"
  enqueue complete command --data '{"command": "hello", "args": {"name": "world"}}' --user alice --success-text 'Hello done for {user}'
  # Arguments are single argv elements: this is printed, not executed.
  enqueue complete command --data '{"command": "hello", "args": {"name": "world; rm -rf / $(id)"}}'
  enqueue complete command --data "{\"command\": \"checksum\", \"args\": {\"file\": \"$FILES/report.txt\"}}"
  CHECKSUM_REF=$LAST_REF
  # sha256sum exits 1: a non-zero exit fails the job at once; its stderr is in the job's log.
  enqueue failed command --data "{\"command\": \"checksum\", \"args\": {\"file\": \"$FILES/missing.txt\"}}"

  heading "de-duplication: at most one active job per --code"
  enqueue complete command --data '{"command": "hello", "args": {"name": "once"}}' --code greeting-42
  local first=$LAST_REF
  enqueue complete command --data '{"command": "hello", "args": {"name": "once"}}' --code greeting-42
  if [ "$LAST_REF" != "$first" ]; then
    echo "demo: the second add with --code greeting-42 made job $LAST_REF instead of returning job $first" >&2
    exit 1
  fi
}

demo_media() {
  heading "create_previews and create_alternative_file: media the demo makes itself"
  node --input-type=module -e '
    import sharp from "sharp";
    const [dir] = process.argv.slice(1);
    // A photo-like 3000x2000 JPEG with EXIF orientation 6 (shown portrait), and a PNG with alpha.
    await sharp({ create: { width: 3000, height: 2000, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 40 } } })
      .jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(`${dir}/photo.jpg`);
    await sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 0.5 } } }).png().toFile(`${dir}/logo.png`);
  ' "$FILES"
  ffmpeg -v error -y -f lavfi -i testsrc=duration=4:size=1280x720:rate=25 -f lavfi -i sine=frequency=440:duration=4 \
    -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$FILES/clip.mp4"
  ffmpeg -v error -y -f lavfi -i sine=frequency=330:duration=3 "$FILES/tone.wav"
  printf '%s\n' '%PDF-1.4' '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj' \
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj' \
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj' \
    'trailer << /Root 1 0 R >>' '%%EOF' >"$FILES/blank.pdf"
  cp "$FILES/photo.jpg" "$FILES/photo-named-like-a.pdf"
  enqueue complete create_previews --data "{\"source\": \"$FILES/photo.jpg\"}" --priority 1
  enqueue complete create_previews --data "{\"source\": \"$FILES/clip.mp4\"}"
  enqueue complete create_previews --data "{\"source\": \"$FILES/tone.wav\"}"
  enqueue complete create_previews --data "{\"source\": \"$FILES/blank.pdf\", \"sizes\": [\"thm\"]}"
  # The content decides, not the name: this is previewed as the JPEG it is.
  enqueue complete create_previews --data "{\"source\": \"$FILES/photo-named-like-a.pdf\", \"sizes\": [\"thm\"]}"
  # Outside paths.readRoots: refused before anything is read.
  enqueue failed create_previews --data '{"source": "/etc/passwd"}'
  enqueue complete create_alternative_file --data "{\"source\": \"$FILES/logo.png\", \"output\": \"$WORK/out/logo.webp\", \"transform\": {\"format\": \"webp\", \"width\": 200}}"
}

demo_downloads() {
  heading "create_download_file: a command template writes a file for a user to download"
  enqueue complete create_download_file --data "{\"command\": \"zip-file\", \"args\": {\"file\": \"$FILES/photo.jpg\"}, \"output\": \"photo.zip\"}" \
    --user alice --success-text 'Your download is ready, {user}: {url}'
  DOWNLOAD_REF=$LAST_REF
  # zip-file is for create_download_file (its usableBy): `add` refuses a command job naming it,
  # and a row an application INSERTs anyway fails when claimed: it cannot fill {output} and
  # write where it likes.
  enqueue_sql failed "INSERT INTO job_queue (type, job_data) VALUES ('command', '{\"command\": \"zip-file\", \"args\": {\"file\": \"$FILES/photo.jpg\", \"output\": \"$WORK/elsewhere.zip\"}}')"
  heading "collection_download: files streamed into one zip; a missing one is reported, not fatal"
  enqueue complete collection_download --data "{\"files\": [{\"path\": \"$FILES/photo.jpg\"}, {\"path\": \"$FILES/tone.wav\", \"name\": \"sounds/tone.wav\"}, {\"path\": \"$FILES/report.txt\", \"name\": \"../../etc/report.txt\"}, {\"path\": \"$FILES/gone.txt\"}], \"name\": \"collection-12\", \"manifest\": true}" \
    --user alice --priority 1 --success-text 'Your collection is ready: {url}'
}

demo_files() {
  heading "extract_text and delete_file"
  printf '<html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Minutes</h1><p>Caf&eacute; &amp; archive, 3 items.</p></body></html>' >"$FILES/minutes.html"
  enqueue complete extract_text --data "{\"source\": \"$FILES/minutes.html\", \"resource\": 42}"
  EXTRACT_REF=$LAST_REF
  enqueue complete extract_text --data "{\"source\": \"$FILES/report.txt\"}"
  mkdir -p "$OUT/exports" && printf 'old\n' >"$OUT/exports/old-export.csv"
  # Idempotent: a path already gone is listed as missing, not an error.
  enqueue complete delete_file --data "{\"paths\": [\"$OUT/exports/old-export.csv\", \"$OUT/exports/never-there.csv\"]}"
  # Outside paths.writeRoots: the whole job fails before anything is deleted.
  enqueue failed delete_file --data "{\"paths\": [\"$OUT/exports\", \"$FILES/report.txt\"], \"recursive\": true}"
}

demo_application() {
  heading "an application's plain INSERTs (only type and job_data are needed)"
  enqueue_sql complete "INSERT INTO job_queue (type, job_data, user, priority) VALUES ('command', '{\"command\": \"hello\", \"args\": {\"name\": \"from SQL\"}}', 'app', 1)"
  # Bad job_data is accepted by the INSERT and fails the job, with a clear error, when claimed.
  enqueue_sql failed "INSERT INTO job_queue (type, job_data) VALUES ('noop', '{\"sleepMs\": ')"
  # A row can only name a template from the config, never a program.
  enqueue_sql failed "INSERT INTO job_queue (type, job_data) VALUES ('command', '{\"command\": \"rm\", \"args\": {\"path\": \"/\"}}')"
}

# --- the demo -------------------------------------------------------------------------------

heading "build"
show_command npm run build
npm run build >/dev/null

heading "database $DATABASE on $(redacted "$SERVER_URL")"
if ! sql "$SERVER_URL" "DROP DATABASE IF EXISTS \`$DATABASE\`"; then
  echo "demo: cannot use the database server at $(redacted "$SERVER_URL"): is MariaDB running? Another server: set OFFLINE_JOBS_DEMO_SERVER_URL" >&2
  exit 1
fi
sql "$SERVER_URL" "CREATE DATABASE \`$DATABASE\` CHARACTER SET utf8mb4"
echo "created (dropped first if it was there)"

heading "config $CONFIG"
write_config
sed -E 's#(://[^:/@"]*):[^@"]*@#\1:***@#' "$CONFIG"
mkdir -p "$WORK/locks"

heading "init: create the job table"
oj_shown init --log-format human

for section in "${SECTIONS[@]}"; do "demo_$section"; done

heading "what a run would claim first"
oj_shown --dry-run --log-format human

heading "run the queue once, as cron does, with 4 jobs at a time"
oj_shown --max-jobs 4 --log-format human

heading "list"
oj_shown list

heading "stats"
oj_shown stats

heading "show one command job"
oj_shown show "$CHECKSUM_REF"

heading "show the text extracted from the HTML page"
oj show "$EXTRACT_REF" --json | node -e 'const row = JSON.parse(require("node:fs").readFileSync(0, "utf8")); console.log(JSON.stringify(row.result, null, 2))'

heading "show the download job: its notice carries the URL"
oj_shown show "$DOWNLOAD_REF" --json

heading "check"
# Every job ended as expected, and the checksum job's log holds the file's real checksum.
oj list --json --limit 1000 | node -e '
  const rows = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  const status = new Map(rows.map((row) => [String(row.ref), row.status]));
  const wrong = process.argv.slice(1).filter((entry) => {
    const [ref, want] = entry.split(":");
    const got = status.get(ref) ?? "missing";
    if (got !== want) console.error(`job ${ref}: expected ${want}, found ${got}`);
    return got !== want;
  });
  if (wrong.length) process.exit(1);
  console.log(`${process.argv.length - 1} jobs ended as expected`);
' "${EXPECT[@]}"
sum=$(sha256sum "$FILES/report.txt" | cut -d' ' -f1)
if ! oj show "$CHECKSUM_REF" | grep -q "$sum"; then
  echo "demo: the log of job $CHECKSUM_REF does not show the checksum $sum" >&2
  exit 1
fi
echo "job $CHECKSUM_REF logged the file's checksum $sum"
if [ -e "$OUT/exports/old-export.csv" ] || [ ! -e "$FILES/report.txt" ]; then
  echo "demo: delete_file deleted the wrong thing or nothing" >&2
  exit 1
fi
echo "previews written:"
ls -l "$OUT/previews"

heading "operating it: a worker, a job waited for, a restart"
oj work --sleep 0.5 --max-time 60 --log-format human &
worker=$!
oj_shown add noop --data '{"sleepMs": 300}' --wait --timeout 30 --log-format human
oj_shown restart --log-format human
wait "$worker" # the worker exits 0 after its current jobs once the restart stamp is set
echo "the worker exited 0"

heading "the operator's views: export, metrics, installation check"
oj_shown export --csv | head -4
oj_shown stats --format prometheus | head -5
oj_shown doctor

heading "done"
echo "The jobs stay in $DATABASE for a look, e.g.:"
echo "  OFFLINE_JOBS_DATABASE_URL=$(redacted "$DATABASE_URL") node bin/offline-jobs list --status failed"

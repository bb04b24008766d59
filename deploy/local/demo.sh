#!/usr/bin/env bash
# `make demo`: a real local Kafka broker, a Faust worker owning embedded ClickHouse, the bundled
# sample through the raw topics, then what landed. Safe to run again: broker and worker are reused
# and the same sample does not create duplicate rows.   `make demo-stop` stops both.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
RUN=var
mkdir -p "$RUN"
export SCRM_KAFKA_BOOTSTRAP="${SCRM_KAFKA_BOOTSTRAP:-127.0.0.1:${SCRM_KAFKA_PORT:-9092}}"
export SCRM_WEB_PORT="${SCRM_WEB_PORT:-6066}"
SAMPLE="${SCRM_DEMO_SAMPLE:-streams/samples/sample.jsonl}"
WORKER_PID="$RUN/worker.pid"
worker_alive() { [ -f "$WORKER_PID" ] && kill -0 "$(cat "$WORKER_PID")" 2>/dev/null; }

if [ "${1:-}" = "stop" ]; then
  if worker_alive; then
    kill -TERM "$(cat "$WORKER_PID")"
    for _ in $(seq 60); do worker_alive || break; sleep 0.5; done
    worker_alive && kill -KILL "$(cat "$WORKER_PID")"
    echo "worker stopped"
  else
    echo "worker was not running"
  fi
  rm -f "$WORKER_PID"
  python3 deploy/local/kafka.py stop
  exit 0
fi

started=$(date +%s)
echo "== 1/5 Kafka broker"
python3 deploy/local/kafka.py start
$BIN/scrm topics create

echo "== 2/5 worker (owns embedded ClickHouse at var/clickhouse)"
if worker_alive; then
  echo "worker already running (pid $(cat "$WORKER_PID")), reused"
else
  $BIN/scrm migrate
  nohup $BIN/scrm worker -l info >"$RUN/worker.log" 2>&1 &
  echo $! >"$WORKER_PID"
  for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$SCRM_WEB_PORT/healthz/" >/dev/null 2>&1 && break
    worker_alive || { echo "the worker exited; see $RUN/worker.log" >&2; tail -20 "$RUN/worker.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "worker started (pid $(cat "$WORKER_PID"), log $RUN/worker.log)"
fi

COUNT_SQL="SELECT count() AS rows_stored, uniqExact(wamid) AS distinct_messages FROM scrm.messages"
echo "== 3/5 before"
$BIN/scrm sql "$COUNT_SQL"

echo "== 4/5 ingest $SAMPLE"
# the sample holds one malformed body on purpose; ingest itself must accept every line
$BIN/scrm ingest "$SAMPLE"
$BIN/scrm wait --timeout 120

echo "== 5/5 what landed"
$BIN/scrm sql "$COUNT_SQL"
echo "-- logical rows (FINAL collapses re-deliveries of the same wamid):"
$BIN/scrm sql "SELECT count() AS messages FROM scrm.messages FINAL"
$BIN/scrm sql "SELECT direction, message_type, count() AS n FROM scrm.messages FINAL GROUP BY direction, message_type ORDER BY n DESC"
$BIN/scrm sql "SELECT formatDateTime(ts, '%F %T') AS ts_utc, direction, profile_name, leftUTF8(text, 40) AS text FROM scrm.messages FINAL ORDER BY ts"
echo "-- conversations (first response times for bots and humans, 24-hour window):"
$BIN/scrm sql "SELECT contact_key, status, inbound, outbound_bot + outbound_human AS replies, bot_frt_s, human_frt_s, last_reply_kind, formatDateTime(window_expires, '%F %T') AS window_expires_utc FROM scrm.conversations FINAL ORDER BY contact_key"
echo "-- tags (rule pack default, multilingual keywords):"
$BIN/scrm sql "SELECT contact_key, tag, department, rule_version, reason FROM scrm.tags FINAL ORDER BY contact_key, wamid, tag"
echo "-- receipt state per message (only moves forward):"
$BIN/scrm sql "SELECT state, count() AS messages, sum(regressions_prevented) AS regressions_prevented FROM scrm.message_state FINAL GROUP BY state"
echo "-- automation: churn segments and policy gate decisions (allow / defer / deny, with the reason):"
$BIN/scrm sql "SELECT contact_key, argMax(segment, scored_at) AS segment, round(argMax(score, scored_at), 2) AS churn_score FROM scrm.churn_scores FINAL GROUP BY contact_key ORDER BY contact_key"
$BIN/scrm sql "SELECT rule_id, outcome, reason, count() AS n FROM scrm.automation_decisions FINAL GROUP BY rule_id, outcome, reason ORDER BY rule_id, outcome"
echo "-- side effects, DRY RUN (SCRM_SENDER_MODE / SCRM_CRM_MODE unset: nothing was sent to WhatsApp or a CRM):"
$BIN/scrm sql "SELECT rule_id, kind, state, count() AS sends FROM scrm.outbound_sends FINAL GROUP BY rule_id, kind, state ORDER BY rule_id"
$BIN/scrm sql "SELECT kind, crm, state, count() AS writes FROM scrm.crm_writes FINAL GROUP BY kind, crm, state ORDER BY kind"
echo "-- contacts: WhatsApp and CRM records resolved to one contact, and the merge evidence:"
$BIN/scrm sql "SELECT contact_id, name, name_source, arrayStringConcat(records, ' ') AS members FROM scrm.contacts FINAL WHERE merged_into IS NULL AND length(records) > 1 ORDER BY contact_id"
$BIN/scrm sql "SELECT merge_id, evidence_kind, evidence_detail, confidence FROM scrm.contact_merges FINAL WHERE NOT undone ORDER BY merged_at"
echo "-- rollups (materialized views; replays never inflate them): rates per day and first response times per agent:"
$BIN/scrm sql "SELECT day, phone_number_id, messages, delivery_rate, read_rate FROM scrm.receipts_daily ORDER BY day"
$BIN/scrm sql "SELECT day, responder, agent_id, conversations, median_s, p90_s FROM scrm.frt_daily ORDER BY day, responder, agent_id"
echo "-- dead letters (original bytes kept; reason per row):"
$BIN/scrm sql "SELECT topic, partition, offset, stage, error_message FROM scrm.dead_letters FINAL ORDER BY topic, partition, offset"
echo "-- worker counters:"
curl -fsS "http://127.0.0.1:$SCRM_WEB_PORT/stats/"; echo

cat <<MSG

Done in $(( $(date +%s) - started ))s. The broker and worker keep running:
  .venv/bin/scrm sql "SELECT * FROM scrm.messages FINAL LIMIT 5"    query ClickHouse (through the worker)
  .venv/bin/scrm ingest FILE.jsonl                                  send more webhooks
  docs/analytics.md                                                 every table, and tested queries
  tail -f var/worker.log                                            watch the worker
  make demo-stop                                                    stop worker and broker
MSG

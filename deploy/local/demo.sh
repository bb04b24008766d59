#!/usr/bin/env bash
# `make demo`: the main job on one machine. A real local Kafka broker, a Faust worker owning
# embedded ClickHouse, the webhook receiver, a month of synthetic multilingual traffic for a few
# thousand customers posted to the receiver with valid signatures, then the report (terminal and
# HTML). Side effects are DRY RUN: nothing goes to WhatsApp or a CRM. Safe to run again: broker,
# worker and receiver are reused, the same traffic is generated (seed and start day are kept in
# var/), and nothing is counted twice.   `make demo-stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
RUN=var
mkdir -p "$RUN"
export SCRM_KAFKA_BOOTSTRAP="${SCRM_KAFKA_BOOTSTRAP:-127.0.0.1:${SCRM_KAFKA_PORT:-9092}}"
export SCRM_WEB_PORT="${SCRM_WEB_PORT:-6066}"
export SCRM_RECEIVER_PORT="${SCRM_RECEIVER_PORT:-8080}"
# demo-only secrets, so the receiver can verify what the generator signs (set your own in production)
export SCRM_WHATSAPP_APP_SECRETS="${SCRM_WHATSAPP_APP_SECRETS:-demo-app-secret}"
export SCRM_INTEGRATION_SECRETS="${SCRM_INTEGRATION_SECRETS:-demo-integration-secret}"
CONTACTS="${SCRM_DEMO_CONTACTS:-2000}"
DAYS="${SCRM_DEMO_DAYS:-30}"
SEED="${SCRM_DEMO_SEED:-7}"
WORKER_PID="$RUN/worker.pid"
RECEIVER_PID="$RUN/receiver.pid"
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {
  local pidfile=$1 name=$2
  if alive "$pidfile"; then
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 60); do alive "$pidfile" || break; sleep 0.5; done
    alive "$pidfile" && kill -KILL "$(cat "$pidfile")"
    echo "$name stopped"
  else
    echo "$name was not running"
  fi
  rm -f "$pidfile"
}

wait_up() {  # wait_up URL PIDFILE NAME: until URL answers, or say why the process exited
  for _ in $(seq 120); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    alive "$2" || { echo "the $3 exited; see $RUN/$3.log" >&2; tail -20 "$RUN/$3.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "the $3 did not answer at $1 within 60s; see $RUN/$3.log" >&2; exit 1
}

if [ "${1:-}" = "stop" ]; then
  stop "$RECEIVER_PID" receiver
  stop "$WORKER_PID" worker
  python3 deploy/local/kafka.py stop
  exit 0
fi

started=$(date +%s)
echo "== 1/6 Kafka broker"
python3 deploy/local/kafka.py start
$BIN/scrm topics create >/dev/null
echo "topics ready"

echo "== 2/6 worker (owns embedded ClickHouse at var/clickhouse; sends and CRM writes in DRY RUN)"
if alive "$WORKER_PID"; then
  echo "worker already running (pid $(cat "$WORKER_PID")), reused"
else
  $BIN/scrm migrate >/dev/null
  nohup $BIN/scrm worker -l warn >"$RUN/worker.log" 2>&1 &
  echo $! >"$WORKER_PID"
  wait_up "http://127.0.0.1:$SCRM_WEB_PORT/healthz/" "$WORKER_PID" worker
  echo "worker started (pid $(cat "$WORKER_PID"), log $RUN/worker.log)"
fi

echo "== 3/6 webhook receiver on :$SCRM_RECEIVER_PORT (verifies every signature)"
if alive "$RECEIVER_PID"; then
  echo "receiver already running (pid $(cat "$RECEIVER_PID")), reused"
else
  nohup $BIN/scrm receiver --port "$SCRM_RECEIVER_PORT" >"$RUN/receiver.log" 2>&1 &
  echo $! >"$RECEIVER_PID"
  wait_up "http://127.0.0.1:$SCRM_RECEIVER_PORT/healthz" "$RECEIVER_PID" receiver
  echo "receiver started (pid $(cat "$RECEIVER_PID"), log $RUN/receiver.log)"
fi

# the same traffic on every run: the first run's start day is kept
[ -f "$RUN/demo.start" ] || date -u -d "-$DAYS days" +%F >"$RUN/demo.start"
START=$(cat "$RUN/demo.start")
echo "== 4/6 traffic: $CONTACTS customers, $DAYS days from $START, seed $SEED -> the receiver"
$BIN/scrm generate --contacts "$CONTACTS" --days "$DAYS" --seed "$SEED" --start "$START" \
  --to-receiver "http://127.0.0.1:$SCRM_RECEIVER_PORT" --concurrency 32 --truth "$RUN/demo-truth.json"

echo "== 5/6 the worker processes it"
$BIN/scrm wait --timeout 900 --settle 5

echo "== 6/6 report (DRY RUN side effects: nothing was sent to WhatsApp or a CRM)"
$BIN/scrm report --since "$START" --html "$RUN/report.html"
echo
echo "-- side effects the automations decided, all DRY RUN:"
$BIN/scrm sql "SELECT rule_id, state, count() AS sends FROM scrm.outbound_sends FINAL GROUP BY rule_id, state ORDER BY sends DESC"
$BIN/scrm sql "SELECT kind, state, count() AS writes FROM scrm.crm_writes FINAL GROUP BY kind, state ORDER BY writes DESC"

cat <<MSG

Done in $(( $(date +%s) - started ))s. Broker, worker and receiver keep running. Explore:
  open var/report.html                                   the report with charts (offline)
  .venv/bin/scrm report --since 7d --tz America/Sao_Paulo  the summary for another window and zone
  .venv/bin/scrm sql "SELECT * FROM scrm.activity_heatmap(tz = 'Asia/Tokyo')"
  .venv/bin/scrm sql "SELECT * FROM scrm.template_performance(tz = 'Asia/Hong_Kong') ORDER BY sent DESC"
  docs/analytics.md                                      every table and view, with tested queries
  docker compose up -d --build                           with Docker: the pipeline on a ClickHouse server, and
                                                         Grafana at http://127.0.0.1:3000 (deploy/grafana)
  make demo-stop                                         stop worker, receiver and broker
MSG

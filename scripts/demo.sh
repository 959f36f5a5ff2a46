#!/usr/bin/env bash
# outpace demo: a Temporal dev server (with the Temporal UI), the OutX sandbox
# and the worker, then messages that end in every outcome, a short campaign,
# a multi-step sequence from a campaign file with one person stopped from
# outside (through the inbound API, as a CRM would), and the contacts store
# at work: one person excluded by the do-not-contact list, one skipped
# because another campaign reached them; and every event sent, signed, to a
# local webhook receiver (examples/webhook-receiver).
#
# Run it with `make demo`, which builds the binaries and the pinned Temporal CLI
# first. Settings (all optional):
#   DEMO_TEMPORAL_PORT (7233)  DEMO_UI_PORT (8233)  DEMO_SANDBOX_PORT (8787)
#   DEMO_INBOUND_PORT (8089)  DEMO_WEBHOOK_PORT (8090)
#   DEMO_KEEP=1  keep everything running after the demo until Ctrl-C (the
#                default when run from a terminal, also with its output piped,
#                as in `make demo | tee demo.log`); DEMO_KEEP=0 stops at once
#                (CI, tests)
#   DEMO_BIN (bin/), DEMO_STATE (.demo/): where the binaries and the logs are;
#                the demo's contacts store is DEMO_STATE/contacts.db, new on
#                every run (never an OUTPACE_CONTACTS_DB of yours)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
temporal=${OUTPACE_TEMPORAL_CLI:-$root/.tools/bin/temporal}
bin=${DEMO_BIN:-$root/bin}
port=${DEMO_TEMPORAL_PORT:-7233}
ui_port=${DEMO_UI_PORT:-8233}
sandbox_port=${DEMO_SANDBOX_PORT:-8787}
inbound_port=${DEMO_INBOUND_PORT:-8089}
webhook_port=${DEMO_WEBHOOK_PORT:-8090}
# Someone at a terminal can press Ctrl-C: their standard input is the
# terminal, wherever the output goes (`make demo | tee demo.log`). CI and
# tests run without one.
interactive=0
if [ -t 0 ]; then interactive=1; fi
keep=${DEMO_KEEP:-$interactive}
state=${DEMO_STATE:-$root/.demo}
mkdir -p "$state"

if [ "$keep" = 1 ]; then
  echo "When the demo is over, everything keeps running for you to explore until Ctrl-C (DEMO_KEEP=0 stops it at once)."
fi
for b in "$temporal" "$bin/worker" "$bin/starter" "$bin/sandbox" "$bin/inbound" "$bin/webhook-receiver"; do
  [ -x "$b" ] || { echo "demo: $b is missing: run 'make demo'" >&2; exit 1; }
done
for p in "$port" "$ui_port" "$sandbox_port" "$inbound_port" "$webhook_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "demo: port $p is already in use (another demo or dev server?); stop it or set DEMO_*_PORT" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  # Ctrl-C also ends a `tee` the output goes to: writing to it then fails
  # (SIGPIPE), which must not stop the cleanup half way.
  set +e
  trap '' PIPE
  say() { echo "$@" 2>/dev/null; }
  say
  say "Stopping the inbound server, the worker, the sandbox and the dev server..."
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
  wait 2>/dev/null
  say "Stopped. Logs are in $state/."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "demo: $name did not come up; see $state/" >&2
  exit 1
}

echo "Starting the Temporal dev server on :$port (UI on :$ui_port)..."
"$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
  --search-attribute CampaignId=Keyword --search-attribute RecipientUrn=Keyword --search-attribute Outcome=Keyword \
  --log-level warn >"$state/temporal.log" 2>&1 &
pids+=($!)
wait_for "the Temporal dev server" "$temporal" operator cluster health --address "127.0.0.1:$port"

echo "Starting the OutX sandbox on :$sandbox_port..."
"$bin/sandbox" --addr "127.0.0.1:$sandbox_port" --accept-delay 3s >"$state/sandbox.log" 2>&1 &
pids+=($!)
wait_for "the OutX sandbox" bash -c "exec 3<>/dev/tcp/127.0.0.1/$sandbox_port"

export TEMPORAL_ADDRESS=127.0.0.1:$port
export OUTPACE_UI_URL=http://127.0.0.1:$ui_port
# The contacts store of the worker and the starter: a SQLite file of the
# demo's own, new on every run.
export OUTPACE_CONTACTS_DB=$state/contacts.db
rm -f "$OUTPACE_CONTACTS_DB" "$OUTPACE_CONTACTS_DB-wal" "$OUTPACE_CONTACTS_DB-shm"
# Events out (docs/webhooks.md): a receiver that verifies each signature,
# and the worker's webhooks file naming it; the secret is new on every run,
# in a file only this user can read.
webhook_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$webhook_secret" >"$state/webhook.secret")
printf 'webhooks:\n  - name: demo-crm\n    url: http://127.0.0.1:%s/outpace\n    secret_file: webhook.secret\n' "$webhook_port" >"$state/webhooks.yaml"
echo "Starting a webhook receiver on :$webhook_port (examples/webhook-receiver: verifies every signature)..."
OUTPACE_WEBHOOK_SECRET=$webhook_secret "$bin/webhook-receiver" -addr "127.0.0.1:$webhook_port" \
  >"$state/webhook-events.log" 2>"$state/webhook-receiver.log" &
pids+=($!)
wait_for "the webhook receiver" grep -q "receiving outpace's events" "$state/webhook-receiver.log"

echo "Starting the worker (OutX API: the sandbox; account limits of seconds, from examples/demo-senders.yaml; events to the receiver)..."
OUTX_BASE_URL=http://127.0.0.1:$sandbox_port OUTX_API_KEY=sandbox-key \
  "$bin/worker" --poll-interval 1s --senders-file "$root/examples/demo-senders.yaml" \
  --webhooks-file "$state/webhooks.yaml" >"$state/worker.log" 2>&1 &
pids+=($!)
wait_for "the worker" grep -q "Started Worker" "$state/worker.log"

# The inbound API (docs/inbound.md), for a CRM to stop a person: one token,
# new on every run, in a file only this user can read.
inbound_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf 'demo-crm %s\n' "$inbound_token" >"$state/inbound-tokens")
echo "Starting the inbound server on :$inbound_port (no OutX key: Temporal and the contacts store only)..."
"$bin/inbound" --addr "127.0.0.1:$inbound_port" --tokens-file "$state/inbound-tokens" >"$state/inbound.log" 2>&1 &
pids+=($!)
wait_for "the inbound server" grep -q "inbound listening" "$state/inbound.log"

run_id=$(date +%H%M%S)
# Section titles in bold on a terminal; plain text in a log or a pipe.
bold='' plain=''
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
section() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# show COMMAND...: print the command, run it, print its exit status. A
# command that is meant to end otherwise than with 0 says so:
#   expect="3: not delivered" show ...
show() {
  local args=("${1##*/}") a
  for a in "${@:2}"; do args+=("$(printf '%q' "$a")"); done
  printf '$ %s\n' "${args[*]}"
  set +e; "$@" 2>&1; local code=$?; set -e
  if [ -n "${expect:-}" ] && [ "$code" = "${expect%%:*}" ]; then
    echo "(exit status $code, as meant:${expect#*:})"
  else
    echo "(exit status $code)"
  fi
}

section "1. A message to a 1st-degree connection: delivered"
show "$bin/starter" send --to "urn:li:person:ACoAADemo$run_id" \
  --message "Hi Ada, thanks for connecting! Would you be up for a chat next week?" --wait

section "2. A message to someone who is not a connection: the OutX task fails"
expect="3: not delivered" show "$bin/starter" send --to "urn:li:person:notconnected-$run_id" --message "Hi Bob, great to meet you." --wait

section "3. The answer to the send is lost: unknown, and never sent again"
expect="4: the outcome is unknown" show "$bin/starter" send --to "urn:li:person:lostanswer-$run_id" --message "Hi Cleo, quick question." --wait

section "4. Bad input: refused before anything starts"
expect="2: bad input, nothing sent" show "$bin/starter" send --to "https://www.linkedin.com/in/dana" --message "   " --wait

section "5. Bad input given straight to the workflow by the official temporal CLI: invalid, no request made"
expect="1: the run failed as invalid" show "$temporal" workflow execute --type SendMessage --task-queue outpace --workflow-id "invalid-demo-$run_id" \
  --input '{"recipient_urn":"urn:li:person:ACoAAEve","message":" \n "}'

section "6. The same command again: not sent twice"
show "$bin/starter" send --to "urn:li:person:ACoAADemo$run_id" \
  --message "Hi Ada, thanks for connecting! Would you be up for a chat next week?" --wait

section "7. A campaign: a CSV of recipients, one template, paced sends"
campaign=demo-campaign-$run_id
csv=$state/$campaign.csv
cat >"$csv" <<CSV
recipient_urn,first_name,company
urn:li:person:ACoAAAda$run_id,Ada,Analytical Engines
urn:li:person:ACoAAGrace$run_id,Grace,Navy
urn:li:person:notconnected-camp$run_id,Bob,Nowhere
urn:li:person:ACoAAAda$run_id,Ada,Analytical Engines
urn:li:person:ACoAALinus$run_id,Linus,
https://www.linkedin.com/in/not-a-urn,Eve,Elsewhere
urn:li:person:ACoAAKen$run_id,Ken,Bell Labs
CSV
cat "$csv"
# What preview checks is what start sends: the same flags. Spacing of
# seconds for the demo; real campaigns default to 1-3 minutes, capped, in
# working hours.
campaign_flags=(--id "$campaign" --csv "$csv"
  --template 'Hi {{first_name}}, I enjoyed reading about {{company}}. Open to a quick chat?'
  --anytime --min-gap 2s --max-gap 4s)
echo
echo "First, preview: every row rendered and checked, nothing sent. Two rows are"
echo "invalid on purpose (Linus has no company; Eve is named by a profile URL"
echo "where a URN goes), so preview ends with status 2, as start would refuse them."
expect="2: two rows are invalid" show "$bin/starter" campaign preview "${campaign_flags[@]}"
echo
echo "Start it anyway, with --allow-invalid: the invalid rows end \"invalid\", nothing is sent to them."
show "$bin/starter" campaign start "${campaign_flags[@]}" --allow-invalid
echo
show "$bin/starter" campaign watch --id "$campaign"
echo
echo "The outcome of every recipient, as CSV:"
show "$bin/starter" campaign report --id "$campaign"

section "8. A sequence from a campaign file: connect, wait for the acceptance, message, follow up"
sequence=demo-sequence-$run_id
people=$state/$sequence.csv
cat >"$people" <<CSV
recipient_urn,first_name
urn:li:person:accepts-ann$run_id,Ann
urn:li:person:ignores-ian$run_id,Ian
urn:li:person:accepts-cat$run_id,Cat
CSV
file=$state/$sequence.yaml
cat >"$file" <<YAML
# Seconds instead of days, for the demo. See examples/spring-launch.yaml.
name: Demo sequence
id: $sequence
recipients: $sequence.csv
window: {days: mon-sun, hours: "00:00-24:00"}
pacing: {min_gap: 1s, max_gap: 2s}
steps:
  - connect:
      note: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {timeout: 20s, check_every: 10s}
  - message: "Thanks for connecting, {{first_name}}!"
  - wait: 5s
  - message:
      name: follow-up
      text: "{{first_name}}, any thoughts?"
YAML
cat "$file"
echo
echo "Ann accepts after 3 seconds; Ian never does; Cat replies, and is stopped."
show "$bin/starter" campaign preview --file "$file" --show 1
show "$bin/starter" campaign start --file "$file"
echo
echo "Cat replied: the team's CRM tells outpace to stop her, through the inbound API"
echo "(\$TOKEN is a token of the inbound server's tokens file; starter campaign stop-recipient"
echo "does the same from a terminal):"
stop_body="{\"person\": \"urn:li:person:accepts-cat$run_id\", \"scope\": \"campaign\", \"campaign\": \"$sequence\", \"reason\": \"replied\"}"
printf '$ curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\\n    -d '"'%s'"' http://127.0.0.1:%s/v1/stops\n' "$stop_body" "$inbound_port"
curl -s -H "Authorization: Bearer $inbound_token" -H "Content-Type: application/json" \
  -d "$stop_body" "http://127.0.0.1:$inbound_port/v1/stops" | jq .
show "$bin/starter" campaign watch --id "$sequence"
echo
echo "Each recipient: the step reached and every step's outcome:"
show "$bin/starter" campaign report --id "$sequence"

section "9. People, not runs: the do-not-contact list, and no one in two campaigns"
echo "outpace keeps a ledger of every action it takes with each person, and a do-not-contact"
echo "list, in its contacts store ($OUTPACE_CONTACTS_DB here; PostgreSQL in the compose stack)."
echo "Mallory asked not to be contacted:"
show "$bin/starter" dnc add "urn:li:person:ACoAAMallory$run_id" --reason "asked not to be contacted"
followup=demo-followup-$run_id
followup_csv=$state/$followup.csv
cat >"$followup_csv" <<CSV
recipient_urn,first_name
urn:li:person:ACoAAGrace$run_id,Grace
urn:li:person:ACoAAMallory$run_id,Mallory
urn:li:person:ACoAANora$run_id,Nora
CSV
cat "$followup_csv"
echo
echo "A second campaign, from the same account. Grace got campaign $campaign's message"
echo "(section 7): by default (contact_policy: the same account, 90 days) a second campaign skips"
echo "her. Preview asks the store who would be excluded or skipped; the campaign checks each"
echo "person again at the moment of each action."
followup_flags=(--id "$followup" --csv "$followup_csv"
  --template 'Hi {{first_name}}, a short follow-up on our spring launch.'
  --anytime --min-gap 2s --max-gap 4s)
show "$bin/starter" campaign preview "${followup_flags[@]}"
show "$bin/starter" campaign start "${followup_flags[@]}"
show "$bin/starter" campaign watch --id "$followup"
echo
echo "The report: Mallory excluded, Grace skipped, each with the reason; only Nora got a message."
show "$bin/starter" campaign report --id "$followup"
echo
echo "Every action outpace took with a person, across campaigns and accounts, kept after"
echo "Temporal's retention drops the runs:"
show "$bin/starter" contacts show "urn:li:person:ACoAAGrace$run_id"
show "$bin/starter" contacts show "urn:li:person:ACoAAMallory$run_id"

section "10. Events out: what the local webhook receiver got, each signature verified"
echo "The worker wrote each event to an outbox in the contacts store; its deliverer sends them,"
echo "signed (Outpace-Signature), and retries for 24 h. Waiting for the last ones..."
for _ in $(seq 1 60); do
  if "$bin/starter" webhooks status --json | jq -e -s 'length > 0 and all(.pending == 0)' >/dev/null 2>&1; then break; fi
  sleep 0.5
done
show "$bin/starter" webhooks status
echo
echo "Events by type, as the receiver printed them ($state/webhook-events.log):"
awk '{print $2}' "$state/webhook-events.log" | sort | uniq -c | sed 's/^ */  /'
echo
echo "Two of them:"
grep -m1 ' connection.accepted ' "$state/webhook-events.log" | sed 's/^/  /'
grep -m1 ' recipient.excluded ' "$state/webhook-events.log" | sed 's/^/  /'

section "What OutX (the sandbox) received"
curl -s "http://127.0.0.1:$sandbox_port/_sandbox/tasks" |
  jq -r '(.[] | "  \(.type | ltrimstr("agent_"))  \(.recipient_urn // "")  \(.status)"),
    "  \(map(select(.type == "agent_send_message")) | length) message task(s): one per message sent, none for bad input, no duplicate",
    "  \(map(select(.type == "agent_send_connection_request")) | length) connection request(s), \(map(select(.type == "agent_fetch_connections")) | length) connection check(s)"'

section "See every run in the Temporal UI"
echo "  http://127.0.0.1:$ui_port/namespaces/default/workflows"
echo "  Failed and unknown messages show as Failed (red), with the reason."
echo "  The campaign and its messages: http://127.0.0.1:$ui_port/namespaces/default/workflows?query=$(jq -rn --arg q "CampaignId=\"$campaign\"" '$q|@uri')"

if [ "$keep" = 1 ]; then
  echo
  echo "Everything is still running so you can explore the UI. Press Ctrl-C to stop it all."
  wait "${pids[0]}"
fi

#!/usr/bin/env bash
# The REST API with curl.
# Usage: FORENSICS_URL=http://127.0.0.1:8000 FORENSICS_API_KEY=fk_... examples/curl.sh photo.jpg
set -euo pipefail
BASE="${FORENSICS_URL:-http://127.0.0.1:8000}/api/v1"
AUTH="Authorization: Bearer ${FORENSICS_API_KEY:?set FORENSICS_API_KEY}"
FILE="${1:?usage: examples/curl.sh FILE (an image, a video or a text file)}"

# Submit a file (a text goes as JSON: -H "Content-Type: application/json" -d '{"text": "..."}').
# A retry with the same Idempotency-Key returns the same analysis instead of a new one.
created=$(curl -sS --fail-with-body -H "$AUTH" -H "Idempotency-Key: example-$$" -F "file=@$FILE" "$BASE/analyses")
id=$(printf '%s' "$created" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
echo "submitted $id"

# Poll until done or failed.
for _ in $(seq 1 120); do
  result=$(curl -sS --fail-with-body -H "$AUTH" "$BASE/analyses/$id")
  state=$(printf '%s' "$result" | grep -o '"state":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ "$state" = done ] || [ "$state" = failed ] && break
  sleep 1
done
echo "state $state"
printf '%s' "$result" | grep -o '"verdict":[^,]*'

# Several items in one request: 202 if all were accepted, 207 if some were refused (see each "status").
curl -sS -o /dev/null -w "batch HTTP %{http_code}\n" -H "$AUTH" -F "file=@$FILE" -F "text=A second item, as text." \
  "$BASE/analyses/batch"

# Newest first, two per page; follow "next" as given.
curl -sS --fail-with-body -H "$AUTH" "$BASE/analyses?limit=2" | grep -o '"next":"[^"]*"' || echo "no next page"

#!/usr/bin/env bash
# What tracing costs a request: the peer bench's queries served side by side
# (bench/side_by_side.sh) by three servers on one database: no OTLP endpoint
# (tracing off), an exporter sampling every request, and one sampling 1%.
# The exporters send to a local OTLP/HTTP sink that reads and drops what
# it receives, so the cost measured is the server's own.
#
# Usage: bench/tracing.sh [QUERY ...]   (default q1 q2; ROUNDS=3 DURATION=8 CONC=16 SESSIONS=100000)
set -euo pipefail
bench_name=tracing
variants=(off all one_percent)
sink_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$sink_port" <<'PY' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
sidecar_pids=($!)
start_variant() {
  case $1 in
    off) env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
      "$binary" serve --database-url "$url" --listen "127.0.0.1:$2" >"$3" 2>&1 & ;;
    all) OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port OTEL_TRACES_SAMPLER=always_on \
      "$binary" serve --database-url "$url" --listen "127.0.0.1:$2" >"$3" 2>&1 & ;;
    one_percent) OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port OTEL_TRACES_SAMPLER=traceidratio \
      OTEL_TRACES_SAMPLER_ARG=0.01 "$binary" serve --database-url "$url" --listen "127.0.0.1:$2" >"$3" 2>&1 & ;;
  esac
}
source "$(dirname "$0")/side_by_side.sh"

echo "| query | tracing | req/s | ratio | gateway CPU ms/req | PostgreSQL CPU ms/req |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
run=("$@")
[[ ${#run[@]} -gt 0 ]] || run=(q1 q2)
for query in "${run[@]}"; do
  side_by_side "$query"
done

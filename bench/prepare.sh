# Sourced by bench/run.sh and bench/soak.sh: what both need before they
# start: the load generator, PostgreSQL, and the release build.
if ! command -v wrk >/dev/null; then
  echo "installing wrk (the load generator)" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --quiet

# Sourced by the Node test suites' run.sh, in the suite's folder: installs
# its npm packages from package-lock.json, and only when node_modules is
# missing or not what the lock file pins (a second run installs nothing).
npm_install_from_lock() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "run.sh: node and npm are needed (Node 20 or later)" >&2
        exit 1
    fi
    local stale
    stale="$(node -e "
const fs = require('fs');
const { packages } = require('./package-lock.json');
for (const [where, { version }] of Object.entries(packages)) {
  if (!where) continue;
  let installed;
  try { installed = JSON.parse(fs.readFileSync(where + '/package.json')).version; } catch {}
  if (installed !== version) { console.log(where); break; }
}")"
    if [[ -n "$stale" ]]; then
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
    fi
}

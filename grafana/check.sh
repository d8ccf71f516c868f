#!/usr/bin/env bash
# Checks grafana/: the alert rules (syntax, then promtool unit tests: each alert fires where it should
# and stays silent where it should not) and the dashboard (valid JSON, the structure Grafana's import
# needs, every PromQL expression parses, every ckpt_warden_* name it uses is one the agent exports).
# Needs promtool (Debian package "prometheus"); as root on Debian it is installed when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v promtool >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "grafana/check.sh: promtool not found; install it with: apt-get install prometheus" >&2
    exit 1
  fi
fi

promtool check rules "$here/ckpt-warden-alerts.yml"
promtool test rules "$here/ckpt-warden-alerts.test.yml"

python3 -m json.tool "$here/ckpt-warden-dashboard.json" >/dev/null
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$here/ckpt-warden-dashboard.json" "$here/ckpt-warden-alerts.yml" "$tmp/dashboard-exprs.yml" <<'EOF'
import json, re, sys

dashboard_file, alerts_file, rules_out = sys.argv[1:4]
with open(dashboard_file) as f:
    d = json.load(f)
errors = []

def need(cond, msg):
    if not cond:
        errors.append(msg)

# What the agent exports (SPEC "Metrics", plus ckpt_warden_filesystem_min_free_bytes and the offload
# metrics); a summary
# also has _count, _sum and _max series.
exported = {
    "ckpt_warden_checkpoints", "ckpt_warden_checkpoint_bytes", "ckpt_warden_root_quota_bytes",
    "ckpt_warden_filesystem_size_bytes", "ckpt_warden_filesystem_free_bytes",
    "ckpt_warden_filesystem_min_free_bytes", "ckpt_warden_filesystem_full_forecast_seconds",
    "ckpt_warden_run_last_checkpoint_timestamp_seconds", "ckpt_warden_run_latest_step",
    "ckpt_warden_run_best_metric", "ckpt_warden_evictions_total", "ckpt_warden_evicted_bytes_total",
    "ckpt_warden_eviction_failures_total", "ckpt_warden_pressure_unresolved",
    "ckpt_warden_corrupt_checkpoints", "ckpt_warden_watch_events_total", "ckpt_warden_watch_overflows_total",
    "ckpt_warden_reconcile_duration_seconds_count", "ckpt_warden_reconcile_duration_seconds_sum",
    "ckpt_warden_reconcile_duration_seconds_max", "ckpt_warden_config_last_reload_successful",
    "ckpt_warden_build_info",
    # offload (not in the contract's table yet)
    "ckpt_warden_offload_bytes_total", "ckpt_warden_offload_failures_total", "ckpt_warden_offload_in_flight",
    "ckpt_warden_offload_duration_seconds_count", "ckpt_warden_offload_duration_seconds_sum",
    "ckpt_warden_offload_duration_seconds_max",
}

for key in ("uid", "title", "panels", "templating", "schemaVersion"):
    need(key in d, f"dashboard: missing '{key}'")
need(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36, "dashboard: schemaVersion below 36")
variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
ds = variables.get("datasource")
need(ds is not None and ds.get("type") == "datasource" and ds.get("query") == "prometheus",
     "dashboard: needs a templating variable 'datasource' of type datasource, query prometheus")

ids = set()
exprs = []
def walk(panels):
    for p in panels:
        pid = p.get("id")
        need(pid not in ids, f"panel id {pid} used twice")
        ids.add(pid)
        g = p.get("gridPos", {})
        need(all(k in g for k in ("h", "w", "x", "y")) and g.get("x", 0) + g.get("w", 0) <= 24,
             f"panel {pid} '{p.get('title')}': bad gridPos {g}")
        if p.get("type") == "row":
            walk(p.get("panels", []))
            continue
        need(p.get("datasource", {}).get("uid") == "${datasource}", f"panel {pid} '{p.get('title')}': datasource is not ${{datasource}}")
        need(p.get("targets"), f"panel {pid} '{p.get('title')}': no queries")
        for t in p.get("targets", []):
            need(t.get("datasource", {}).get("uid") == "${datasource}", f"panel {pid} query {t.get('refId')}: datasource is not ${{datasource}}")
            exprs.append((pid, t.get("refId"), t.get("expr", "")))
walk(d.get("panels", []))

with open(alerts_file) as f:
    alert_text = f.read()
used = set(re.findall(r"ckpt_warden_[a-z_]+", "".join(e for _, _, e in exprs)))
used |= set(re.findall(r"ckpt_warden_[a-z_]+", alert_text))
for name in sorted(used - exported):
    errors.append(f"{name}: not a metric the agent exports")

# promtool parses each dashboard query as a recording rule; Grafana's own variables become literals.
with open(rules_out, "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for pid, ref, e in exprs:
        e = e.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
        out.write(f"      - record: dashboard:panel_{pid}_{ref}\n        expr: {json.dumps(e)}\n")

if errors:
    print("\n".join("dashboard check: " + e for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"dashboard: {len(ids)} panels, {len(exprs)} queries, {len(used)} ckpt_warden metrics, all known")
EOF
promtool check rules "$tmp/dashboard-exprs.yml" >/dev/null
echo "grafana: alert rules and dashboard OK"

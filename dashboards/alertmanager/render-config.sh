#!/bin/sh
# render-config.sh CONFIG: print CONFIG with $BRANDPULSE_ALERTING__WEBHOOK_URL in place of the
# webhook URL it was committed with (docker-compose runs it before Alertmanager starts).
#
# Alertmanager expands no environment variables in its configuration, and its image has no
# Python: this is dashboards/alertmanager/__init__.py's render_alertmanager_config in sed, and
# tests/unit/test_deploy_files.py checks that both print the same file.
set -eu
: "${BRANDPULSE_ALERTING__WEBHOOK_URL:?must be the URL that Alertmanager notifies}"
committed='http://127\.0\.0\.1:5001/alerts'
# In a sed replacement \ and & are special, and | ends it: escape them.
url=$(printf '%s\n' "$BRANDPULSE_ALERTING__WEBHOOK_URL" | sed 's/[\\&|]/\\&/g')
sed "s|$committed|$url|g" "$1"

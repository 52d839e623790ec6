#!/usr/bin/env bash
# Start or stop a local MLflow tracking server for trying `cxaudit gate`.
#
#   scripts/mlflow-server.sh start DIR [PORT]   # SQLite store + artifacts in DIR; waits for /health
#   scripts/mlflow-server.sh stop DIR           # stops the server and its helper processes
#
# The server listens on 127.0.0.1 only, with one worker and job execution off
# (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: up in ~15 s instead of ~35 s).
# The tests start their own server through tests/mlflow/mlflow_testserver.py.
set -euo pipefail
action=${1:?usage: mlflow-server.sh start|stop DIR [PORT]}
dir=${2:?usage: mlflow-server.sh start|stop DIR [PORT]}
port=${3:-5055}
python=${PYTHON:-python}

case "$action" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$python" -m mlflow server \
      --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/artifacts" \
      --host 127.0.0.1 --port "$port" --workers 1 >"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/server.pid"
    for _ in $(seq 1 240); do
      if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
        echo "MLflow server up: http://127.0.0.1:$port (pid $(cat "$dir/server.pid"), log $dir/server.log)"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
        echo "mlflow server exited; see $dir/server.log" >&2; tail -20 "$dir/server.log" >&2; exit 1
      fi
      sleep 0.5
    done
    echo "mlflow server not healthy after 120 s; see $dir/server.log" >&2
    exit 1
    ;;
  stop)
    pid=$(cat "$dir/server.pid")
    kill -TERM -- "-$pid" 2>/dev/null || true   # the whole process group (setsid above)
    for _ in $(seq 1 40); do kill -0 -- "-$pid" 2>/dev/null || { echo "stopped"; exit 0; }; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "stopped (killed)"
    ;;
  *) echo "usage: mlflow-server.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac

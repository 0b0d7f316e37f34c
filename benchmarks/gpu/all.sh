#!/usr/bin/env bash
# One GPU script for the whole project: runs every plugin's GPU part from the
# source tree (no install needed: PYTHONPATH points at core/ and plugins/*/src)
# and prints each figure, or why a part was skipped. Budget: under 8 minutes.
# CI does not run it.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
paths="$PWD/core"
for src in plugins/*/src; do paths="$paths:$PWD/$src"; done
export PYTHONPATH="$paths${PYTHONPATH:+:$PYTHONPATH}"
export INRIA_PROGRESS=0
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
status=0
for part in benchmarks/gpu/*.py benchmarks/gpu/*.sh; do
  [ -f "$part" ] || continue
  [ "$(basename "$part")" = "all.sh" ] && continue
  echo "=== $part"
  case "$part" in
    *.py) timeout 150 "$PY" "$part" ;;
    *.sh) timeout 150 bash "$part" ;;
  esac
  rc=$?
  [ $rc -eq 124 ] && echo "$part: stopped after 150 s (over its share of the 8-minute budget)"
  [ $rc -ne 0 ] && status=1
done
exit $status

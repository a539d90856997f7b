#!/usr/bin/env bash
# Creates a study in $HONE_STORAGE and starts a job array of hone workers on it.
#   HONE_STORAGE=postgresql://hone@db:5432/hone ./submit.sh STUDY.toml NAME N_TRIALS WORKERS
set -euo pipefail
: "${HONE_STORAGE:?set HONE_STORAGE to the PostgreSQL URL (password in ~/.pgpass or PGPASSWORD)}"
study_file=$(realpath "${1:?study file}")
name=${2:?study name}
n_trials=${3:-200}
workers=${4:-8}
here=$(dirname "$(realpath "$0")")
export HONE_STUDY_FILE="$study_file" HONE_STUDY="$name" HONE_N_TRIALS="$n_trials"
create=$(sbatch --parsable --export=ALL "$here/create.sbatch")
array=$(sbatch --parsable --export=ALL --dependency="afterok:$create" --array="0-$((workers - 1))" \
  "$here/worker.sbatch")
echo "study \"$name\": create job $create, worker array $array ($workers tasks)"
echo "watch:   hone studies show '$name' --storage '$HONE_STORAGE' --limit 10"

#!/usr/bin/env bash
# Runs an lbsim sweep on a Slurm cluster: an array job with one shard of the
# sweep's runs (points × replications) per task, then a merge job that starts
# once every shard has succeeded and writes OUT/merged, the same folder an
# unsharded `lbsim run SCENARIO --out OUT/merged` would write.
#
# The nodes must see SCENARIO, OUT and the lbsim binary at the same paths as
# this machine (a shared file system); paths are made absolute before submitting.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/slurm-sweep.sh [OPTIONS] SCENARIO OUT [N] [-- LBSIM-RUN-ARGS...]

Submits `lbsim run SCENARIO` as a Slurm array of N shards (default 4), then
`lbsim merge` of the shards into OUT/merged once all of them succeeded.

  SCENARIO         scenario file (TOML)
  OUT              a new or empty folder: OUT/shard-K per task, OUT/merged,
                   OUT/logs/ (shard-K.log, merge.log)
  N                number of shards, array tasks 1..N (default 4)
  LBSIM-RUN-ARGS   more `lbsim run` arguments for every shard, e.g.
                   -- --vary servers.count=4,8,16 --replications 5

options:
  --wait               wait for the merge; exit 1 if a job failed, showing its log
  --lbsim PATH         lbsim binary (default: $LBSIM, else lbsim on PATH)
  --partition NAME     Slurm partition (default: the cluster's default)
  --time LIMIT         time limit of each job, as sbatch takes it (e.g. 30:00)
  --cpus-per-task C    CPUs per shard; lbsim uses them all (default: 1)
  --no-report          merge without charts and report.html
  -h, --help           this text

Other sbatch settings come from its environment variables (SBATCH_ACCOUNT, ...).
EOF
}

die() {
    echo "slurm-sweep: $*" >&2
    echo "run scripts/slurm-sweep.sh --help for the usage" >&2
    exit 2
}

wait_merge=false
lbsim="${LBSIM:-}"
cpus=1
merge_args=()
sbatch_opts=()
positional=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --wait) wait_merge=true ;;
    --lbsim) [ $# -ge 2 ] || die "--lbsim needs a path"; lbsim="$2"; shift ;;
    --partition) [ $# -ge 2 ] || die "--partition needs a name"; sbatch_opts+=("--partition=$2"); shift ;;
    --time) [ $# -ge 2 ] || die "--time needs a limit"; sbatch_opts+=("--time=$2"); shift ;;
    --cpus-per-task) [ $# -ge 2 ] || die "--cpus-per-task needs a count"; cpus="$2"; shift ;;
    --no-report) merge_args+=(--no-report) ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) positional+=("$1") ;;
    esac
    shift
done

if [ ${#positional[@]} -lt 2 ] || [ ${#positional[@]} -gt 3 ]; then
    usage >&2
    exit 2
fi
scenario="${positional[0]}"
out="${positional[1]}"
shards="${positional[2]:-4}"

[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "N=$shards: expected a whole number of shards from 1"
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus-per-task $cpus: expected a whole number from 1"
[ -f "$scenario" ] || die "$scenario: no such scenario file"
scenario=$(realpath "$scenario")
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null || echo x)" ]; then
    die "$out: already exists and is not an empty folder (shards of an earlier sweep would mix in)"
fi
if [ -z "$lbsim" ]; then
    lbsim=$(command -v lbsim) || die "no lbsim on PATH: pass --lbsim PATH or set LBSIM"
fi
[ -x "$lbsim" ] || die "$lbsim: not an executable lbsim binary"
lbsim=$(realpath "$lbsim")
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"

mkdir -p "$out/logs"
out=$(realpath "$out")

# The job scripts, kept in OUT/logs so that a shard can be run again by hand
# (sbatch --array=K OUT/logs/shard.sh, then sbatch OUT/logs/merge.sh). With
# --resume a shard run again, or requeued by Slurm, keeps the jobs it had
# finished and runs the rest.
shard_cmd=$(printf '%q ' "$lbsim" run "$scenario" "${extra[@]}")
cat >"$out/logs/shard.sh" <<EOF
#!/usr/bin/env bash
# Shard \$SLURM_ARRAY_TASK_ID of $shards of the sweep; written by scripts/slurm-sweep.sh.
#SBATCH --job-name=lbsim-shard
#SBATCH --output=$out/logs/shard-%a.log
set -eu
export RAYON_NUM_THREADS="\${SLURM_CPUS_PER_TASK:-1}"
exec $shard_cmd--out "$out/shard-\$SLURM_ARRAY_TASK_ID" --shard "\$SLURM_ARRAY_TASK_ID/$shards" --resume --quiet --no-report
EOF
shard_dirs=()
for k in $(seq 1 "$shards"); do
    shard_dirs+=("$out/shard-$k")
done
merge_cmd=$(printf '%q ' "$lbsim" merge --out "$out/merged" "${merge_args[@]}" "${shard_dirs[@]}")
cat >"$out/logs/merge.sh" <<EOF
#!/usr/bin/env bash
# Merges the $shards shards into one sweep folder; written by scripts/slurm-sweep.sh.
#SBATCH --job-name=lbsim-merge
#SBATCH --output=$out/logs/merge.log
set -eu
exec $merge_cmd
EOF

array=$(sbatch --parsable "${sbatch_opts[@]}" --array="1-$shards" --cpus-per-task="$cpus" "$out/logs/shard.sh")
array="${array%%;*}"
echo "submitted the shards: array job $array (tasks 1-$shards), logs in $out/logs/"

# A merge whose shards cannot all succeed any more is cancelled, not left pending.
merge_opts=("${sbatch_opts[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes)
if ! $wait_merge; then
    merge=$(sbatch --parsable "${merge_opts[@]}" "$out/logs/merge.sh")
    echo "submitted the merge: job ${merge%%;*}, into $out/merged once every shard succeeds"
    exit 0
fi

# The array tasks that did not complete, each with its state ("2 FAILED"), from
# the controller's memory of recent jobs.
unfinished_shards() {
    scontrol show job --oneliner "$array" 2>/dev/null | awk '!/JobState=COMPLETED/ {
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^ArrayTaskId=/) task = substr($i, 13)
            if ($i ~ /^JobState=/) state = substr($i, 10)
        }
        print task, state
    }'
}

echo "waiting for the merge"
if sbatch --wait --parsable "${merge_opts[@]}" "$out/logs/merge.sh" >/dev/null && [ -d "$out/merged" ]; then
    echo "merged: $out/merged"
    exit 0
fi
echo "slurm-sweep: the sweep failed" >&2
while read -r k state; do
    echo "---- shard $k: $state; $out/logs/shard-$k.log:" >&2
    cat "$out/logs/shard-$k.log" >&2 2>/dev/null || echo "(no log)" >&2
done < <(unfinished_shards)
if [ -s "$out/logs/merge.log" ]; then
    echo "---- $out/logs/merge.log:" >&2
    cat "$out/logs/merge.log" >&2
fi
exit 1

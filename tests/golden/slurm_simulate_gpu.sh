#!/bin/bash
#SBATCH --job-name="Project/bundle/<BUNDLE>"
#SBATCH --mem=2G
#SBATCH -t 00:06:00
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --gres=gpu:1
#SBATCH --output=<DATASPACE>/slurm-%j.out

set -e
set -u

cd <DATASPACE>

# Lennard-Jones data space (docs/cluster.md): engine threads come from each operation's np directive.
export LJ_DATASPACE=<DATASPACE>
echo "flow bundle Project/bundle/<BUNDLE> on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores 2"

# A crash or a kill by the scheduler leaves no failure marker: lj_failed writes failed.json into the job folder
# (shown by `flow.py status`, cleared by `python -m project reset-failed`). On SIGTERM (time limit, scancel)
# each operation is left to stop, recorded, and the script exits.
lj_status=0
lj_term=
lj_pids=
trap 'lj_term=1' TERM
lj_failed() {  # lj_failed OPERATION JOB_FOLDER|- EXIT_STATUS
    local job="${SLURM_JOB_ID:-${PBS_JOBID:-?}}" reason tmp
    case "$3" in
        143) reason="killed by SIGTERM in scheduler job $job (time limit or scancel)" ;;
        137) reason="killed by SIGKILL in scheduler job $job (out of memory, or did not stop in time)" ;;
        *) if [ "$3" -gt 128 ]; then reason="killed by signal $(($3 - 128)) in scheduler job $job"
           else reason="exited with status $3 in scheduler job $job (see its output file)"; fi ;;
    esac
    echo "operation $1 failed: $reason" >&2
    if [ "$2" != - ] && [ -d "$2" ] && [ ! -e "$2/failed.json" ]; then
        tmp="$2/.failed.$$.json"
        printf '{"operation": "%s", "reason": "%s", "time": "%s"}\n' "$1" "$reason" \
            "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" > "$tmp" && mv -f "$tmp" "$2/failed.json"
    fi
    lj_status=$3
    if [ -n "$lj_term" ]; then exit "$3"; fi
}

# simulate(8c6db83785b847246a944af500b91df0)
export LJ_THREADS=1
export LJ_ENGINE="${LJ_ENGINE:-openmm}" LJ_OPENMM_PLATFORM="${LJ_OPENMM_PLATFORM:-CUDA}"
(trap 'lj_term=1' TERM; <PYTHON> <REPO>/flow.py run -o simulate -j 8c6db83785b847246a944af500b91df0 || lj_failed simulate <DATASPACE>/workspace/8c6db83785b847246a944af500b91df0 $?; exit $lj_status) &
lj_pids="$lj_pids $!"

# simulate(ef19f768dc9a4b73af15534af8ac7138)
export LJ_THREADS=1
export LJ_ENGINE="${LJ_ENGINE:-openmm}" LJ_OPENMM_PLATFORM="${LJ_OPENMM_PLATFORM:-CUDA}"
(trap 'lj_term=1' TERM; <PYTHON> <REPO>/flow.py run -o simulate -j ef19f768dc9a4b73af15534af8ac7138 || lj_failed simulate <DATASPACE>/workspace/ef19f768dc9a4b73af15534af8ac7138 $?; exit $lj_status) &
lj_pids="$lj_pids $!"

# Wait for every operation (again when a TERM interrupts `wait`); remember the last failure.
for lj_pid in $lj_pids; do
    lj_rc=0; wait "$lj_pid" || lj_rc=$?
    while kill -0 "$lj_pid" 2>/dev/null; do lj_rc=0; wait "$lj_pid" || lj_rc=$?; done
    [ "$lj_rc" = 0 ] || lj_status=$lj_rc
done
exit $lj_status


# Submit command: sbatch

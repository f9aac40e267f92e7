{#
Submission script of the Lennard-Jones data space (signac-flow 0.29), see docs/cluster.md.

It extends the scheduler's base template (`base_script`: slurm.sh, pbs.sh, base_script.sh, ...) and changes:
- resources: every operation is ONE process using `np` threads (no MPI); a bundle runs on one node, so the script
  asks for one node, one task and np cores (sum of np with --parallel, max without), memory and wall time from
  the directives (flow sums memory and takes the longest wall time with --parallel, sums wall times without), and
  GPUs (`ngpu`, max over the bundle: the operations of a parallel bundle share them);
- output: SLURM writes the job's output to <data space>/slurm-<id>.out wherever you submit from (unless
  --job-output says otherwise);
- environment: LJ_DATASPACE is pinned to the data space the script was made for; LJ_THREADS is exported from
  each operation's `np` so the MD engine uses exactly the cores allocated to it; an operation with ngpu > 0 runs
  OpenMM on CUDA unless LJ_ENGINE / LJ_OPENMM_PLATFORM say otherwise (set LJ_ENGINE=gromacs for a GPU build
  of GROMACS, which uses the GPU by itself);
- failures: an operation that crashes or is killed (time limit, memory limit, scancel) cannot record that
  itself, so the script writes failed.json (operation, reason, time) into its job folder: `flow.py status` shows
  it and nothing runs for that job until `python -m project reset-failed`. The other operations of the bundle go
  on; the script exits with the failed operation's status, so the scheduler reports the job as failed.
#}
{% extends base_script %}
{% set scheduler = environment.scheduler_type.__name__ if environment.scheduler_type else "" %}
{% if scheduler == "OfflineSlurmScheduler" %}{% set scheduler = "SlurmScheduler" %}{% endif %}
{% set ngpu_bundle = operations|map(attribute='directives.ngpu')|max %}
{% block tasks %}
    {% if scheduler == "SlurmScheduler" %}
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task={{ resources.ncpu_tasks }}
        {% if ngpu_bundle %}
#SBATCH --gres=gpu:{{ ngpu_bundle }}
        {% endif %}
        {% if not job_output %}
#SBATCH --output={{ (project.path ~ '/slurm-%j.out')|quote_argument }}
        {% endif %}
    {% elif scheduler == "PBSScheduler" %}
#PBS -l nodes=1:ppn={{ resources.ncpu_tasks }}{{ (':gpus=%d'|format(ngpu_bundle)) if ngpu_bundle else '' }}
    {% else %}
{{ super() -}}
    {% endif %}
{% endblock tasks %}
{% block custom_content %}
# Lennard-Jones data space (docs/cluster.md): engine threads come from each operation's np directive.
export LJ_DATASPACE={{ project.path|quote_argument }}
echo "flow bundle {{ id }} on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores {{ resources.ncpu_tasks }}"

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
{% endblock custom_content %}
{% block body %}
    {% for operation in operations %}
        {% if operation._jobs|length == 1 and operation.directives.get('failure_marker', true) %}
            {% set job_dir = operation._jobs[0].path|quote_argument %}
        {% else %}
            {% set job_dir = '-' %}
        {% endif %}

# {{ "%s"|format(operation) }}
export LJ_THREADS={{ operation.directives.np }}
        {% if operation.directives.ngpu %}
export LJ_ENGINE="${LJ_ENGINE:-openmm}" LJ_OPENMM_PLATFORM="${LJ_OPENMM_PLATFORM:-CUDA}"
        {% endif %}
        {% if parallel %}
(trap 'lj_term=1' TERM; {{ operation.cmd }} || lj_failed {{ operation.name }} {{ job_dir }} $?; exit $lj_status) &
lj_pids="$lj_pids $!"
        {% else %}
{{ operation.cmd }} || lj_failed {{ operation.name }} {{ job_dir }} $?
        {% endif %}
    {% endfor %}
{% endblock body %}
{% block footer %}

    {% if parallel %}
# Wait for every operation (again when a TERM interrupts `wait`); remember the last failure.
for lj_pid in $lj_pids; do
    lj_rc=0; wait "$lj_pid" || lj_rc=$?
    while kill -0 "$lj_pid" 2>/dev/null; do lj_rc=0; wait "$lj_pid" || lj_rc=$?; done
    [ "$lj_rc" = 0 ] || lj_status=$lj_rc
done
    {% endif %}
exit $lj_status
{% endblock footer %}

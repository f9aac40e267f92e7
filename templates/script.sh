{#
Submission script of the Lennard-Jones data space (signac-flow 0.29), see docs/cluster.md.

It extends the scheduler's base template (`base_script`: slurm.sh, pbs.sh, base_script.sh, ...) and changes:
- resources: every operation is ONE process using `np` threads (no MPI); a bundle runs on one node, so the script
  asks for one node, one task and np cores (sum of np with --parallel, max without), memory and wall time from
  the directives (flow sums memory and takes the longest wall time with --parallel), and GPUs (`ngpu`) shared by
  the operations of a bundle;
- environment: LJ_DATASPACE is pinned to the data space the script was made for, LJ_THREADS is exported from
  each operation's `np` before it starts, so the MD engine uses exactly the cores allocated to it; an operation
  with ngpu > 0 makes OpenMM pick CUDA unless PROJECT_OPENMM_PLATFORM says otherwise (a GPU build of GROMACS
  uses the GPU by itself).
#}
{% extends base_script %}
{% set scheduler = environment.scheduler_type.__name__ if environment.scheduler_type else "" %}
{% set ngpu_bundle = operations|map(attribute='directives.ngpu')|max %}
{% block tasks %}
    {% if scheduler == "SlurmScheduler" %}
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task={{ resources.ncpu_tasks }}
        {% if ngpu_bundle %}
#SBATCH --gres=gpu:{{ ngpu_bundle }}
        {% endif %}
    {% elif scheduler == "PBSScheduler" %}
#PBS -l nodes=1:ppn={{ resources.ncpu_tasks }}{{ (':gpus=%d'|format(ngpu_bundle)) if ngpu_bundle else '' }}
    {% else %}
{{ super() -}}
    {% endif %}
{% endblock tasks %}
{% block custom_content %}
# Lennard-Jones data space: engine threads come from each operation's np directive (LJ_THREADS).
export LJ_DATASPACE={{ project.path|quote_argument }}
echo "flow bundle {{ id }} on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores {{ resources.ncpu_tasks }}"
{% endblock custom_content %}
{% block pre_operation scoped %}
export LJ_THREADS={{ operation.directives.np }}
    {% if operation.directives.ngpu %}
export PROJECT_OPENMM_PLATFORM="${PROJECT_OPENMM_PLATFORM:-CUDA}"
    {% endif %}
{% endblock pre_operation %}
{% block footer %}
    {% if parallel %}
# Wait for every operation; the script (and so the scheduler job) fails if any of them crashed. Failures the
# workflow handles (failed.json, shown by `flow.py status`) exit 0 and do not stop the other operations.
lj_status=0
for lj_pid in $(jobs -p); do wait "$lj_pid" || lj_status=$?; done
exit $lj_status
    {% endif %}
{% endblock footer %}

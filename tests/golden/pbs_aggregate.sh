#PBS -N Project/agg-62c20db03220dee93da3d8604797bd14/aggregate/<OPHASH>
#PBS -l mem=4GB
#PBS -l walltime=01:00:00
#PBS -V
#PBS -l nodes=1:ppn=1

set -e
set -u

cd <DATASPACE>

# Lennard-Jones data space: engine threads come from each operation's np directive (LJ_THREADS).
export LJ_DATASPACE=<DATASPACE>
echo "flow bundle Project/agg-62c20db03220dee93da3d8604797bd14/aggregate/<OPHASH> on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores 1"

# aggregate(agg-62c20db03220dee93da3d8604797bd14)
export LJ_THREADS=1
<PYTHON> <REPO>/flow.py run -o aggregate -j agg-62c20db03220dee93da3d8604797bd14
# Eligible to run:
# <PYTHON> <REPO>/flow.py exec aggregate agg-62c20db03220dee93da3d8604797bd14


# Submit command: qsub

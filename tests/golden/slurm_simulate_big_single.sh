#!/bin/bash
#SBATCH --job-name="Project/b2598fd93a953789ceee04fc725b6181/simulate/<OPHASH>"
#SBATCH --mem=2G
#SBATCH -t 01:10:12
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2

set -e
set -u

cd <DATASPACE>

# Lennard-Jones data space: engine threads come from each operation's np directive (LJ_THREADS).
export LJ_DATASPACE=<DATASPACE>
echo "flow bundle Project/b2598fd93a953789ceee04fc725b6181/simulate/<OPHASH> on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores 2"

# simulate(b2598fd93a953789ceee04fc725b6181)
export LJ_THREADS=2
<PYTHON> <REPO>/flow.py run -o simulate -j b2598fd93a953789ceee04fc725b6181
# Eligible to run:
# <PYTHON> <REPO>/flow.py exec simulate b2598fd93a953789ceee04fc725b6181


# Submit command: sbatch

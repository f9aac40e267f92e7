#!/bin/bash
#SBATCH --job-name="Project/agg-62c20db03220dee93da3d8604797bd14/aggregate/<OPHASH>"
#SBATCH --mem=4G
#SBATCH -t 01:00:00
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1

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


# Submit command: sbatch

#PBS -N Project/fc2ea0addd036bca558262dc05d068c4/compute_rdf/<OPHASH>
#PBS -l mem=1GB
#PBS -l walltime=00:15:00
#PBS -V
#PBS -l nodes=1:ppn=1

set -e
set -u

cd <DATASPACE>

# Lennard-Jones data space: engine threads come from each operation's np directive (LJ_THREADS).
export LJ_DATASPACE=<DATASPACE>
echo "flow bundle Project/fc2ea0addd036bca558262dc05d068c4/compute_rdf/<OPHASH> on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores 1"

# compute_rdf(fc2ea0addd036bca558262dc05d068c4)
export LJ_THREADS=1
<PYTHON> <REPO>/flow.py run -o compute_rdf -j fc2ea0addd036bca558262dc05d068c4
# Eligible to run:
# <PYTHON> <REPO>/flow.py exec compute_rdf fc2ea0addd036bca558262dc05d068c4


# Submit command: qsub

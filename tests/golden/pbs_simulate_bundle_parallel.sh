#PBS -N Project/bundle/<BUNDLE>
#PBS -l mem=4GB
#PBS -l walltime=00:15:00
#PBS -V
#PBS -l nodes=1:ppn=4

set -e
set -u

cd <DATASPACE>

# Lennard-Jones data space: engine threads come from each operation's np directive (LJ_THREADS).
export LJ_DATASPACE=<DATASPACE>
echo "flow bundle Project/bundle/<BUNDLE> on $(hostname), scheduler job ${SLURM_JOB_ID:-${PBS_JOBID:-none}}, cores 4"

# simulate(8c6db83785b847246a944af500b91df0)
export LJ_THREADS=2
<PYTHON> <REPO>/flow.py run -o simulate -j 8c6db83785b847246a944af500b91df0 &
# Eligible to run:
# <PYTHON> <REPO>/flow.py exec simulate 8c6db83785b847246a944af500b91df0

# simulate(ef19f768dc9a4b73af15534af8ac7138)
export LJ_THREADS=2
<PYTHON> <REPO>/flow.py run -o simulate -j ef19f768dc9a4b73af15534af8ac7138 &
# Eligible to run:
# <PYTHON> <REPO>/flow.py exec simulate ef19f768dc9a4b73af15534af8ac7138
wait


# Submit command: qsub

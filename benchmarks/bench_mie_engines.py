"""Steps/s of the Mie engine candidates side by side (LAMMPS table, LAMMPS mie/cut, OpenMM custom force).

N=1000, rho*=0.8, T*=1, cut-off 3 sigma, dt=0.002 tau, 1 core; run in an empty folder: `python bench_mie_engines.py
lammps|openmm`. Units: steps per wall second and per CPU second.
"""

import argparse
import re
import subprocess
import time

import numpy as np


def mie_c(n, m=6.0):
    return n / (n - m) * (n / m) ** (m / (n - m))


def table_file(path, n, npts=20000, rlo=0.5, rc=3.0):
    c = mie_c(n)
    r = np.sqrt(np.linspace(rlo**2, rc**2, npts))
    u = c * (r**-n - r**-6)
    f = c * (n * r ** -(n + 1) - 6 * r**-7)
    with open(path, "w") as fh:
        fh.write(f"MIE\nN {npts} RSQ {rlo} {rc}\n\n")
        for i, (ri, ui, fi) in enumerate(zip(r, u, f)):
            fh.write(f"{i + 1} {ri:.12g} {ui:.12g} {fi:.12g}\n")


def lammps(pair, steps=5000, tag="x"):
    inp = f"""units lj
atom_style atomic
lattice sc 0.8
region box block 0 10 0 10 0 10
create_box 1 box
create_atoms 1 box
mass 1 1.0
{pair}
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
velocity all create 1.0 12345
fix 1 all nve
fix 2 all langevin 1.0 1.0 1.0 4321
timestep 0.002
thermo 1000
thermo_style custom step temp pe press
run 1000
run {steps}
"""
    open(f"in.{tag}", "w").write(inp)
    subprocess.run(
        ["lmp", "-in", f"in.{tag}", "-log", f"log.{tag}", "-screen", "none"], capture_output=True, text=True, check=True
    )
    txt = open(f"log.{tag}").read()
    perf = re.findall(r"Performance: .*?([\d.]+) timesteps/s", txt)
    cpu = re.findall(r"([\d.]+)% CPU use", txt)
    return round(float(perf[-1])), round(float(perf[-1]) / (float(cpu[-1]) / 100))


def openmm_bench(n, custom=True, steps=2000):
    import openmm

    L = (1000 / 0.8) ** (1 / 3)
    s = openmm.System()
    s.setDefaultPeriodicBoxVectors(openmm.Vec3(L, 0, 0), openmm.Vec3(0, L, 0), openmm.Vec3(0, 0, L))
    if custom:
        f = openmm.CustomNonbondedForce(f"{mie_c(n)}*((1/r)^{n} - (1/r)^6)")
        f.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
        f.setUseLongRangeCorrection(True)
        for _ in range(1000):
            s.addParticle(1.0)
            f.addParticle([])
    else:
        f = openmm.NonbondedForce()
        f.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
        f.setUseDispersionCorrection(True)
        for _ in range(1000):
            s.addParticle(1.0)
            f.addParticle(0, 1.0, 1.0)
    f.setCutoffDistance(3.0)
    s.addForce(f)
    integ = openmm.LangevinMiddleIntegrator(1.0 / 0.0083144626, 1.0, 0.002)
    ctx = openmm.Context(s, integ, openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    a = L / 10
    g = np.stack(np.meshgrid(*[np.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3) * a + 0.5 * a
    ctx.setPositions(g)
    ctx.setVelocitiesToTemperature(1.0 / 0.0083144626, 1)
    integ.step(500)
    t = time.perf_counter()
    c = time.process_time()
    integ.step(steps)
    dt = time.perf_counter() - t
    return round(steps / dt), round(steps / (time.process_time() - c))


which = ""
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=("lammps", "openmm"), help="engine whose candidates are timed")
    which = parser.parse_args().engine
res = {}
if which == "lammps":
    res["lj/cut"] = lammps("pair_style lj/cut 3.0\npair_coeff 1 1 1.0 1.0\npair_modify tail yes", tag="lj")
    res["lj/cut/opt"] = lammps("pair_style lj/cut/opt 3.0\npair_coeff 1 1 1.0 1.0\npair_modify tail yes", tag="ljopt")
    for n in (12, 20):
        res[f"mie/cut {n}"] = lammps(
            f"pair_style mie/cut 3.0\npair_coeff 1 1 1.0 1.0 {n} 6\npair_modify tail yes", tag=f"mie{n}"
        )
    for n in (12, 20):
        table_file(f"mie{n}.table", n)
        res[f"table linear {n}"] = lammps(
            f"pair_style table linear 20000\npair_coeff 1 1 mie{n}.table MIE 3.0", tag=f"tab{n}"
        )
elif which == "openmm":
    res["openmm NonbondedForce (LJ)"] = openmm_bench(12, custom=False)
    for n in (12, 20):
        res[f"openmm Custom {n}"] = openmm_bench(n)
for k, v in res.items():
    print(k, v)

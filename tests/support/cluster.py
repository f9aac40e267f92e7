"""A private single-node SLURM cluster on localhost, for tests and for trying ``flow.py submit`` on a workstation.

Test harness, not part of the installed package: it lives in ``tests/support/`` of a source checkout
(``from support.cluster import LocalSlurm`` with ``tests/`` on ``sys.path``, as pytest does).

Everything lives in one folder (``slurm.conf``, state, spool, logs, pid files) plus a munge folder under the
system temporary directory (munged runs as the ``munge`` user, which cannot enter a pytest ``tmp_path``). The
daemons listen on free ports and munge on a private socket, so the cluster never touches a system-wide SLURM or
munge, and several can run side by side. Client commands (``sbatch``, ``squeue``, ``sinfo``, and signac-flow,
which calls them) find the cluster through the environment variable ``SLURM_CONF`` (see :meth:`LocalSlurm.env`).

Needs root (slurmd starts jobs as their owner) and the Debian packages ``slurm-wlm`` and ``munge``.
Settings that work with SLURM 22.05 (measured on Debian 12): no cgroups
(``proctrack/linuxproc``, ``task/none``), ``select/cons_tres`` with ``CR_Core_Memory`` and a default memory per
CPU (without it each job takes the whole node), and ``SlurmdParameters=config_overrides`` so that the node takes
the CPUs and memory of ``slurm.conf`` whatever the machine has (a job asking for more than that stays pending).

Example::

    from support.cluster import LocalSlurm

    with LocalSlurm("/tmp/mycluster", cpus=2) as slurm:
        env = {**os.environ, **slurm.env()}
        subprocess.run(["python", "flow.py", "submit", "--", "--wait"], env=env, check=True)
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from project.errors import ProjectError

log = logging.getLogger(__name__)

#: Executables a local cluster needs, with the Debian package that ships each.
REQUIRED_BINARIES = {
    "munged": "munge",
    "slurmctld": "slurm-wlm",
    "slurmd": "slurm-wlm",
    "sbatch": "slurm-wlm",
    "squeue": "slurm-wlm",
    "sinfo": "slurm-wlm",
    "scontrol": "slurm-wlm",
    "scancel": "slurm-wlm",
}
#: Partition of the local cluster.
PARTITION = "debug"
#: Name of the node (``slurmd -N``).
NODE_NAME = "localhost"


class ClusterError(ProjectError, RuntimeError):
    """The local SLURM cluster cannot be set up, started or stopped."""


def find_binaries(names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the full path of each executable a local cluster needs.

    Parameters
    ----------
    names : mapping, optional
        Executable -> Debian package; default :data:`REQUIRED_BINARIES`.

    Returns
    -------
    dict
        Executable -> absolute path.

    Raises
    ------
    ClusterError
        Naming every missing executable and the packages to install.
    """
    names = REQUIRED_BINARIES if names is None else names
    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name, package in names.items():
        path = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
        )
        if path:
            found[name] = path
        else:
            missing[name] = package
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        raise ClusterError(
            f"missing executables {', '.join(sorted(missing))}: install them as root with "
            f"`apt-get install -y {packages}` (or run `bash .ci/install`)"
        )
    return found


def free_port() -> int:
    """Return a TCP port on localhost that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slurm_conf_text(
    root: Path,
    *,
    munge_socket: Path,
    ctld_port: int,
    slurmd_port: int,
    cpus: int = 2,
    memory_mb: int = 8000,
    cluster_name: str = "ljtest",
) -> str:
    """Return the text of a ``slurm.conf`` for a single-node cluster on localhost.

    Parameters
    ----------
    root : Path
        Folder of the state, spool, log and pid files.
    munge_socket : Path
        Socket of the private munged.
    ctld_port, slurmd_port : int
        TCP ports of slurmctld and slurmd.
    cpus : int
        CPUs the node declares (a job asking for more than this stays pending).
    memory_mb : int
        Memory (MB) the node declares.
    cluster_name : str
        SLURM cluster name.

    Returns
    -------
    str
        The configuration.
    """
    root = Path(root)
    lines = [
        f"ClusterName={cluster_name}",
        f"SlurmctldHost={NODE_NAME}",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        "MpiDefault=none",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "DefMemPerCPU=500",
        "ReturnToService=2",
        "SlurmdParameters=config_overrides",
        "MinJobAge=300",
        "KillWait=5",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        f"NodeName={NODE_NAME} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP",
    ]
    return "\n".join(lines) + "\n"


class LocalSlurm:
    """A single-node SLURM (munged, slurmctld, slurmd) on localhost, started and stopped by PID.

    Parameters
    ----------
    root : str or Path
        Folder for ``slurm.conf``, state, spool, logs and pid files (created).
    cpus : int, optional
        CPUs the node declares (default: the cores of this machine).
    memory_mb : int
        Memory (MB) the node declares (default 8000).
    """

    def __init__(self, root: str | Path, cpus: int | None = None, memory_mb: int = 8000) -> None:
        self.root = Path(root).resolve()
        self.cpus = int(cpus or os.cpu_count() or 1)
        self.memory_mb = int(memory_mb)
        self.conf = self.root / "slurm.conf"
        self.munge_dir: Path | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._bin: dict[str, str] = {}

    # -- set-up -------------------------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Return the environment variables that point SLURM clients (and signac-flow) at this cluster."""
        return {"SLURM_CONF": str(self.conf), "SIGNAC_FLOW_ENVIRONMENT": "DefaultSlurmEnvironment"}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    def _setup_munge(self) -> Path:
        """Create the private munge folder (key, socket, logs) owned by the munge user; return the socket."""
        try:
            user = pwd.getpwnam("munge")
        except KeyError as exc:
            raise ClusterError("no 'munge' user: install the Debian package munge") from exc
        self.munge_dir = Path(tempfile.mkdtemp(prefix="lj-munge-"))
        key = self.munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for path in (self.munge_dir, key):
            os.chown(path, user.pw_uid, user.pw_gid)
        self.munge_dir.chmod(0o755)  # munged wants its socket folder open to every user
        return self.munge_dir / "munge.socket"

    def write_config(self) -> Path:
        """Create the folders and write ``slurm.conf`` (and the munge key); return the path of ``slurm.conf``."""
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        socket_path = self._setup_munge()
        ctld_port = free_port()
        slurmd_port = free_port()
        while slurmd_port == ctld_port:
            slurmd_port = free_port()
        self.conf.write_text(
            slurm_conf_text(
                self.root,
                munge_socket=socket_path,
                ctld_port=ctld_port,
                slurmd_port=slurmd_port,
                cpus=self.cpus,
                memory_mb=self.memory_mb,
            )
        )
        return self.conf

    # -- start / stop -------------------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], user: str | None = None) -> None:
        """Start a daemon in the foreground as a child of this process (so its PID is ``Popen.pid``)."""
        ids = {}
        if user is not None:
            pw = pwd.getpwnam(user)
            ids = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        logf = open(self.root / "log" / f"{name}.out", "ab")
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._client_env(),
                start_new_session=True,
                **ids,
            )
        finally:
            logf.close()
        self._procs[name] = proc
        log.info("started %s (pid %d): %s", name, proc.pid, " ".join(cmd))

    def _wait_for(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ClusterError(
                        f"{name} exited with status {proc.returncode} while waiting for {what}; "
                        f"see {self.root / 'log'}:\n{self.log_tail()}"
                    )
            if check():
                return
            time.sleep(0.3)
        raise ClusterError(
            f"timed out after {timeout:.0f} s waiting for {what}; see {self.root / 'log'}:\n{self.log_tail()}"
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd in the foreground (children of this process) and wait for the node.

        Raises
        ------
        ClusterError
            If a binary is missing, this is not root, or a daemon dies or the node is not idle within ``timeout``.
        """
        self._bin = find_binaries()
        if os.geteuid() != 0:
            raise ClusterError("a local SLURM needs root (slurmd starts jobs as their owner)")
        if not self.conf.is_file() or self.munge_dir is None:
            self.write_config()
        assert self.munge_dir is not None
        socket_path = self.munge_dir / "munge.socket"
        try:
            self._spawn(
                "munged",
                [
                    self._bin["munged"],
                    "--foreground",
                    f"--socket={socket_path}",
                    f"--key-file={self.munge_dir / 'munge.key'}",
                    f"--pid-file={self.munge_dir / 'munged.pid'}",
                    f"--log-file={self.munge_dir / 'munged.log'}",
                    f"--seed-file={self.munge_dir / 'munged.seed'}",
                ],
                user="munge",
            )
            self._wait_for("the munge socket", socket_path.exists, timeout)
            self._spawn("slurmctld", [self._bin["slurmctld"], "-D", "-i", "-f", str(self.conf)])
            self._spawn("slurmd", [self._bin["slurmd"], "-D", "-N", NODE_NAME, "-f", str(self.conf)])
            self._wait_for(f"node {NODE_NAME} idle in sinfo", self.node_idle, timeout)
        except BaseException:
            self.stop()
            raise
        log.info("local SLURM up in %s", self.root)

    def sinfo(self) -> str:
        """Return ``sinfo`` output (node and state) of this cluster, or the error text."""
        res = subprocess.run(
            [self._bin.get("sinfo", "sinfo"), "-h", "-N", "-o", "%N %t"],
            capture_output=True,
            text=True,
            env=self._client_env(),
            timeout=30,
        )
        return res.stdout if res.returncode == 0 else res.stderr

    def node_idle(self) -> bool:
        """Return True when the node is up and idle (or partly or fully allocated)."""
        states = self.sinfo().split()
        return len(states) >= 2 and states[0] == NODE_NAME and states[1] in ("idle", "mix", "alloc")

    def squeue(self) -> str:
        """Return the ``squeue`` listing of this cluster (job id, state, name)."""
        res = subprocess.run(
            [self._bin.get("squeue", "squeue"), "-h", "-o", "%i %t %j"],
            capture_output=True,
            text=True,
            env=self._client_env(),
            timeout=30,
        )
        return res.stdout if res.returncode == 0 else res.stderr

    def wait_empty(self, timeout: float = 120.0, poll: float = 1.0) -> None:
        """Wait until no job is pending or running.

        Raises
        ------
        ClusterError
            If jobs remain after ``timeout`` seconds (the listing is in the message).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.squeue().strip():
                return
            time.sleep(poll)
        raise ClusterError(f"jobs still queued after {timeout:.0f} s:\n{self.squeue()}")

    def scancel(self, *job_ids: str) -> None:
        """Cancel jobs of this cluster (all of them when no id is given): SIGTERM, SIGKILL after ``KillWait``.

        Raises
        ------
        ClusterError
            If ``scancel`` fails.
        """
        cmd = (
            [self._bin.get("scancel", "scancel"), *job_ids]
            if job_ids
            else [self._bin.get("scancel", "scancel"), f"--partition={PARTITION}"]
        )
        res = subprocess.run(cmd, capture_output=True, text=True, env=self._client_env(), timeout=30)
        if res.returncode != 0:
            raise ClusterError(f"scancel {' '.join(job_ids) or 'all'} failed: {res.stderr.strip()}")

    def job_ids(self) -> list[str]:
        """Return the ids of the jobs pending or running on this cluster."""
        return [line.split()[0] for line in self.squeue().splitlines() if line.strip() and line.split()[0].isdigit()]

    def log_tail(self, n: int = 15) -> str:
        """Return the last ``n`` lines of every daemon log (for error messages)."""
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            try:
                lines = path.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                continue
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel the cluster's jobs, stop the daemons this object started and remove the munge folder.

        Jobs still queued or running are cancelled first (while slurmctld and slurmd run), so that no job step
        outlives the cluster. The daemons are stopped by PID: SIGTERM, then SIGKILL after ``timeout`` seconds.
        """
        ctld, slurmd = self._procs.get("slurmctld"), self._procs.get("slurmd")
        if ctld is not None and slurmd is not None and ctld.poll() is None and slurmd.poll() is None:
            try:
                if self.job_ids():
                    self.scancel()
                    self.wait_empty(timeout=timeout)
            except (ClusterError, OSError, subprocess.SubprocessError) as exc:
                log.warning("could not cancel the jobs of %s: %s", self.root, exc)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM; killing it", name, proc.pid)
                proc.kill()
                proc.wait(timeout=timeout)
            log.info("stopped %s (pid %d)", name, proc.pid)
        if self.munge_dir is not None:
            shutil.rmtree(self.munge_dir, ignore_errors=True)
            self.munge_dir = None

    def __enter__(self) -> LocalSlurm:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

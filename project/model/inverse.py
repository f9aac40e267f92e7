"""The saved inverse model: RDF + T + rho -> sigma, epsilon, with an ensemble uncertainty.

A model folder holds

* ``meta.json``: input grid (x = r rho^(1/3)), input and target scalers (fitted on the training split only),
  target definition and units, training domain, dataset checksum, settings and code version;
* ``weights.npz``: the ensemble members' weights as plain arrays (dense layers ``m<i>_l<j>_W/_b`` and the optional
  linear path ``m<i>_skip_W/_b``), so that prediction runs in numpy in well under a millisecond per RDF without
  importing TensorFlow; :func:`project.model.finetune.keras_member` rebuilds a Keras member from them for fine-tuning.

A Mie network (``meta["potential"] == "mie"``, :mod:`project.model.train_mie`) has a third target, ln lambda_r (the
repulsive exponent, dimensionless), reported as ``lambda_r`` and ``lambda_r_std``; an LJ network reports 12 and 0.

Inputs are g on the x grid (to 1.75, or only up to ``meta["input_x_max"]`` when a model was trained with that
option; the shipped model uses the whole grid) and, when ``log_floor`` is set, ln(max(g, log_floor)) (see
:func:`project.model.features.model_inputs`). An RDF must reach that x, i.e. r = x rho^(-1/3) nm. Targets are 1/T*
(or log T* in older models, ``meta["targets"]``) and log(rho*); sigma = (rho*/rho)^(1/3) nm and epsilon = k_B T / T*
kJ/mol follow from the given temperature (K) and number density (nm^-3). The reported value is the ensemble mean,
the uncertainty the ensemble standard deviation (in nm and kJ/mol).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from project.errors import ProjectError
from project.model.features import X_GRID, model_inputs, reduced_to_physical, scaled_rdf
from project.units import check_temperature_K

#: The model shipped with the package.
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "data" / "models" / "lj_inverse_v4"
META_VERSION = 1


_ERF = np.frompyfunc(math.erf, 1, 1)


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "gelu":  # Keras default (approximate=False): x * Phi(x); math.erf element-wise spares the fit from
        # importing scipy.special (0.2-0.3 s of a shell call), at about 0.15 us per element
        return 0.5 * x * (1.0 + _ERF(x / np.sqrt(2.0)).astype(float))
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "tanh":
        return np.tanh(x)
    if name == "swish" or name == "silu":
        return x / (1.0 + np.exp(-x))
    if name == "linear":
        return x
    raise ProjectError(f"model activation '{name}' is not supported by the numpy forward pass")


#: Units of the numbers every answer about one RDF has, the network's prediction and the fit alike.
RESULT_UNITS = {
    "sigma": "nm",
    "epsilon": "kJ/mol",
    "sigma_std": "nm",
    "epsilon_std": "kJ/mol",
    "T_star": "1",
    "rho_star": "1",
}
#: The keys every answer about one RDF has (:class:`Prediction` and :class:`project.model.fit.FitResult`).
RESULT_KEYS = (*RESULT_UNITS, "in_domain", "warnings")


def result_fields(answer: Any) -> dict[str, Any]:
    """The :data:`RESULT_KEYS` of a prediction or fit as a JSON-ready dict (sigma nm, epsilon kJ/mol)."""
    return {key: list(answer.warnings) if key == "warnings" else getattr(answer, key) for key in RESULT_KEYS}


@dataclass
class Prediction:
    """Prediction for one RDF. Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3."""

    sigma: float
    epsilon: float
    sigma_std: float
    epsilon_std: float
    T_star: float
    rho_star: float
    in_domain: bool
    warnings: list[str]
    #: repulsive exponent of a Mie network's answer and its ensemble std (dimensionless); 12 and 0 for LJ
    lambda_r: float = 12.0
    lambda_r_std: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the prediction as a JSON-ready dict with units (lambda_r for a Mie network)."""
        out = {**result_fields(self), "units": dict(RESULT_UNITS)}
        if self.lambda_r_std > 0:
            out.update(lambda_r=self.lambda_r, lambda_r_std=self.lambda_r_std)
            out["units"].update(lambda_r="1", lambda_r_std="1")
        return out


@dataclass
class KnownJobs:
    """Simulated jobs with known states, to measure a network's one-shot error on: RDF rows ``g`` on ``r_nm`` (nm),
    true ``sigma`` (nm), ``T_star``, ``rho_star`` and ``lambda_r`` (None: LJ, 12) per row (dimensionless)."""

    r_nm: np.ndarray
    g: np.ndarray
    sigma: np.ndarray
    T_star: np.ndarray
    rho_star: np.ndarray
    lambda_r: np.ndarray | None = None

    def rows(self, idx: np.ndarray) -> KnownJobs:
        """The jobs at row indices (or a boolean mask) ``idx``."""
        pick = [np.asarray(a)[idx] for a in (self.g, self.sigma, self.T_star, self.rho_star)]
        lam = None if self.lambda_r is None else np.asarray(self.lambda_r)[idx]
        return KnownJobs(self.r_nm, *pick, lam)


def oneshot_validation_error(model: InverseModel, jobs: KnownJobs) -> dict[str, Any]:
    """Relative RMS error of the network's one-shot sigma and epsilon (and lambda_r for a Mie network) on jobs
    whose RDFs it did not fit its weights to, as ``meta["validation_error"]`` holds it (dimensionless).

    Corresponding states: each job is read at epsilon 1 kJ/mol (T = T* / k_B K) and its own density
    rho* / sigma^3 nm^-3; the relative errors do not depend on that choice. The fit adds these errors to its own
    uncertainty when it compares its answer with the network's.
    """
    from project.model.features import scaled_rdf_batch
    from project.units import KB

    sigma, T_star, rho_star = (np.asarray(a, float) for a in (jobs.sigma, jobs.T_star, jobs.rho_star))
    rho = rho_star / sigma**3
    p = model.predict_physical(scaled_rdf_batch(jobs.r_nm, np.asarray(jobs.g, float), rho), T_star / KB, rho)
    out: dict[str, Any] = {
        "sigma": float(np.sqrt(np.mean((p["sigma"] / sigma - 1) ** 2))),
        "epsilon": float(np.sqrt(np.mean((p["epsilon"] - 1) ** 2))),
    }
    if jobs.lambda_r is not None and model.is_mie:
        out["lambda_r"] = float(np.sqrt(np.mean((p["lambda_r"] / np.asarray(jobs.lambda_r, float) - 1) ** 2)))
    out.update(n_jobs=int(len(sigma)), what="relative RMS error of the one-shot answers (dimensionless)")
    return out


#: Bands of T* over which a network trained across them records its validation error separately (the regions of
#: the accuracy report: near the triple point, the liquid box, hot, very hot).
T_STAR_BANDS = (0.0, 0.8, 2.5, 5.0, float("inf"))


def validation_error_by_band(model: InverseModel, jobs: KnownJobs) -> list[dict[str, Any]]:
    """:func:`oneshot_validation_error` per band of :data:`T_STAR_BANDS` with at least :data:`MIN_OUTSIDE_JOBS`
    jobs (each entry with its ``T_star`` band, [lo, hi)). The error of a network trained from T* 0.6 to 10 grows
    tenfold from the liquid to the hot fluid; one number for all would make its second opinion blunt in the liquid.
    """
    t = np.asarray(jobs.T_star, float)
    out = []
    for lo, hi in zip(T_STAR_BANDS[:-1], T_STAR_BANDS[1:]):
        rows = np.flatnonzero((t >= lo) & (t < hi))
        if len(rows) >= MIN_OUTSIDE_JOBS:
            out.append(
                {"T_star": [lo, hi if np.isfinite(hi) else None], **oneshot_validation_error(model, jobs.rows(rows))}
            )
    return out


#: Jobs needed beyond a bound of the training states before the network's error there is recorded (count).
MIN_OUTSIDE_JOBS = 5


def error_outside(model: InverseModel, jobs: KnownJobs, source: str) -> dict[str, Any]:
    """The network's one-shot error beyond each bound of its training states, by bound as
    :meth:`InverseModel.bounds_crossed` names them (``meta["error_outside"]``).

    The jobs must be ones the network did not train on; those inside its training states are ignored, and a bound
    with fewer than :data:`MIN_OUTSIDE_JOBS` jobs beyond it is left out. ``source`` names the jobs (recorded).
    """
    lam = np.full(len(jobs.sigma), 12.0) if jobs.lambda_r is None else np.asarray(jobs.lambda_r, float)
    crossed = [model.bounds_crossed(t, d, x) for t, d, x in zip(jobs.T_star, jobs.rho_star, lam)]
    out = {}
    for bound in sorted({b for c in crossed for b in c}):
        rows = np.flatnonzero([bound in c for c in crossed])
        if len(rows) >= MIN_OUTSIDE_JOBS:
            out[bound] = {**oneshot_validation_error(model, jobs.rows(rows)), "source": source}
    return out


def record_in_meta(model_dir: str | Path, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Set one key of a saved model folder's ``meta.json`` (atomically), e.g. a measured error; returns the value."""
    from project.atomic import atomic_write_text

    path = Path(model_dir) / "meta.json"
    meta = json.loads(path.read_text())
    meta[key] = value
    atomic_write_text(path, json.dumps(meta, indent=1))
    return value


class InverseModel:
    """An ensemble inverse model loaded from a model folder (see the module docstring)."""

    def __init__(self, meta: dict[str, Any], layers: list[list[tuple[np.ndarray, np.ndarray, str]]]) -> None:
        self.meta = meta
        self.layers = layers
        #: per member, the (W, b) of the optional linear path from the scaled inputs to the outputs
        self.skips: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(layers)
        self.x_grid = np.asarray(meta["x_grid"], dtype=float)
        self.x_mean = np.asarray(meta["input_scaler"]["mean"], dtype=float)
        self.x_std = np.asarray(meta["input_scaler"]["std"], dtype=float)
        self.y_mean = np.asarray(meta["target_scaler"]["mean"], dtype=float)
        self.y_std = np.asarray(meta["target_scaler"]["std"], dtype=float)

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def load(cls, path: str | Path | None = None) -> InverseModel:
        """Load a model folder (default: the model shipped with the package)."""
        path = Path(path) if path else SHIPPED_MODEL
        meta_path, w_path = path / "meta.json", path / "weights.npz"
        if not meta_path.is_file() or not w_path.is_file():
            raise ProjectError(
                f"model folder {path}: meta.json or weights.npz missing (train one with `python -m project train`)"
            )
        try:
            meta = json.loads(meta_path.read_text())
            with np.load(w_path) as w:
                arrays = {k: w[k] for k in w.files}
        except (OSError, ValueError) as exc:
            raise ProjectError(f"model folder {path}: unreadable ({exc})") from exc
        if meta.get("meta_version") != META_VERSION:
            raise ProjectError(f"model folder {path}: meta_version {meta.get('meta_version')} is not {META_VERSION}")
        layers = []
        skips = []
        for m in range(meta["n_members"]):
            member = []
            for li, act in enumerate(meta["activations"]):
                member.append((arrays[f"m{m}_l{li}_W"], arrays[f"m{m}_l{li}_b"], act))
            layers.append(member)
            skips.append((arrays[f"m{m}_skip_W"], arrays[f"m{m}_skip_b"]) if f"m{m}_skip_W" in arrays else None)
        model = cls(meta, layers)
        model.skips = skips
        return model

    @staticmethod
    def save(path: str | Path, meta: dict[str, Any], keras_members: list, activations: list[str]) -> Path:
        """Write a model folder atomically (to a temporary folder, then renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        arrays = {}
        for m, model in enumerate(keras_members):
            dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
            skip = [layer for layer in dense if layer.name == "linear_skip"]
            dense = [layer for layer in dense if layer.name != "linear_skip"]
            if skip:  # linear path from the inputs added to the MLP output
                W, b = skip[0].get_weights()
                arrays[f"m{m}_skip_W"], arrays[f"m{m}_skip_b"] = W.astype(np.float32), b.astype(np.float32)
            for li, layer in enumerate(dense):
                W, b = layer.get_weights()
                arrays[f"m{m}_l{li}_W"] = W.astype(np.float32)
                arrays[f"m{m}_l{li}_b"] = b.astype(np.float32)
        meta = dict(meta, meta_version=META_VERSION, n_members=len(keras_members), activations=activations)
        np.savez(tmp / "weights.npz", **arrays)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old.{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return path

    @property
    def is_mie(self) -> bool:
        """True for a Mie lambda_r-6 network (third target ln lambda_r)."""
        return self.meta.get("potential", "lj") == "mie"

    # ------------------------------------------------------------------ prediction
    def _scaled_inputs(self, gx: np.ndarray) -> np.ndarray:
        """Standardised network inputs for rows of g on the x grid (only x <= meta["input_x_max"] when set)."""
        return (model_inputs(gx, self.meta.get("log_floor"), self.meta.get("input_x_max")) - self.x_mean) / self.x_std

    def predict_scaled(self, gx: np.ndarray) -> np.ndarray:
        """Return the members' raw targets (log T* or 1/T*, log rho*[, ln lambda_r]), shape (n_members, n, 2 or 3)."""
        z = self._scaled_inputs(gx)
        out = []
        for member, skip in zip(self.layers, self.skips):
            h = z
            for W, b, act in member:
                h = _act(act, h @ W + b)
            if skip is not None:
                h = h + z @ skip[0] + skip[1]
            out.append(h * self.y_std + self.y_mean)
        return np.stack(out)

    def predict_ensemble(self, gx: np.ndarray) -> np.ndarray:
        """Return every member's (T*, rho*[, lambda_r]), shape (n_members, n, 2 or 3), for rows of g on the x grid."""
        y = self.predict_scaled(gx)
        if self.meta.get("targets", ["log(T_star)"])[0] == "1/T_star":
            t_star = 1.0 / np.clip(y[..., 0], 1e-3, None)
        else:
            t_star = np.exp(y[..., 0])
        return np.stack([t_star, *np.exp(np.moveaxis(y[..., 1:], -1, 0))], axis=-1)

    def predict_reduced(self, gx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (T*, rho*, T* std, rho* std) for rows of g on the x grid."""
        ens = self.predict_ensemble(gx)
        return ens[..., 0].mean(0), ens[..., 1].mean(0), ens[..., 0].std(0), ens[..., 1].std(0)

    def predict_physical(self, gx: np.ndarray, T: np.ndarray, rho: np.ndarray) -> dict[str, np.ndarray]:
        """Vectorised prediction: sigma (nm), epsilon (kJ/mol)[, lambda_r] and their ensemble std for rows of g(x)."""
        ens = self.predict_ensemble(gx)  # (members, n, 2 or 3)
        sig, eps = reduced_to_physical(ens[..., 0], ens[..., 1], np.asarray(T)[None, :], np.asarray(rho)[None, :])
        lam = ens[..., 2] if ens.shape[-1] == 3 else np.full_like(sig, 12.0)
        return {
            "lambda_r": lam.mean(0),
            "lambda_r_std": lam.std(0),
            "sigma": sig.mean(0),
            "epsilon": eps.mean(0),
            "sigma_std": sig.std(0),
            "epsilon_std": eps.std(0),
            "T_star": ens[..., 0].mean(0),
            "rho_star": ens[..., 1].mean(0),
        }

    def predict(self, r_nm: np.ndarray, g: np.ndarray, T: float, rho: float, source: str = "RDF") -> Prediction:
        """Predict sigma (nm) and epsilon (kJ/mol) of one RDF at temperature T (K) and density rho (nm^-3).

        The result is flagged ``in_domain = False`` (with reasons in ``warnings``) when the predicted state lies
        outside the training domain; the model is never silently extrapolated.
        """
        T = check_temperature_K(T, source)
        gx = scaled_rdf(r_nm, g, rho, source, x_max=self.meta.get("input_x_max"))
        p = self.predict_physical(gx[None, :], np.array([T]), np.array([rho]))
        pred = Prediction(
            sigma=float(p["sigma"][0]),
            epsilon=float(p["epsilon"][0]),
            sigma_std=float(p["sigma_std"][0]),
            epsilon_std=float(p["epsilon_std"][0]),
            T_star=float(p["T_star"][0]),
            rho_star=float(p["rho_star"][0]),
            in_domain=True,
            warnings=[],
            lambda_r=float(p["lambda_r"][0]),
            lambda_r_std=float(p["lambda_r_std"][0]),
        )
        self._flag_domain(pred, gx)
        return pred

    def bounds_crossed(self, t_star: float, rho_star: float, lambda_r: float = 12.0) -> list[str]:
        """The bounds of the network's simulated training states (``meta["domain"]``) a reduced state lies beyond:
        names among ``T_star_below``, ``T_star_above``, ``rho_star_below``, ``rho_star_above``, ``lambda_r_below``,
        ``lambda_r_above`` (empty: inside)."""
        dom = self.meta["domain"]
        out = []
        for key, value in (("T_star", t_star), ("rho_star", rho_star), ("lambda_r", lambda_r)):
            if key not in dom:
                continue
            if value < dom[key][0]:
                out.append(f"{key}_below")
            elif value > dom[key][1]:
                out.append(f"{key}_above")
        return out

    def error_at(self, t_star: float, rho_star: float, lambda_r: float = 12.0) -> dict[str, float] | None:
        """The network's measured one-shot error (relative RMS by parameter) at a reduced state.

        Inside its training states: ``meta["validation_error"]``, or its entry of ``meta["validation_error_by_band"]``
        (:func:`validation_error_by_band`) where one holds ``t_star``. Beyond one or more of their bounds: the
        largest of ``meta["error_outside"][bound]``, measured on simulated states beyond that bound the network
        never saw. None where a needed measurement is missing (then the network is no second opinion there).
        """
        crossed = self.bounds_crossed(t_star, rho_star, lambda_r)
        if not crossed:
            for band in self.meta.get("validation_error_by_band") or []:
                lo, hi = band["T_star"]
                if lo <= t_star < (np.inf if hi is None else hi):
                    return band
            return self.meta.get("validation_error")
        outside = self.meta.get("error_outside") or {}
        if any(b not in outside for b in crossed):
            return None
        keys = {k for b in crossed for k, v in outside[b].items() if isinstance(v, float)}
        return {k: max(outside[b].get(k, 0.0) for b in crossed) for k in keys}

    def _flag_domain(self, pred: Prediction, gx: np.ndarray) -> None:
        dom = self.meta["domain"]
        checks = [
            ("T_star", pred.T_star, "reduced temperature T*"),
            ("rho_star", pred.rho_star, "reduced density rho*"),
            ("sigma", pred.sigma, "sigma (nm)"),
            ("epsilon", pred.epsilon, "epsilon (kJ/mol)"),
        ]
        if "lambda_r" in dom:
            checks.append(("lambda_r", pred.lambda_r, "repulsive exponent lambda_r"))
        hot = (self.meta.get("thermal_extrapolation") or {}).get("T_star_range")  # synthetic hot states, if any
        for key, value, label in checks:
            lo, hi = dom[key]
            if lo <= value <= hi:
                continue
            if key == "T_star" and hot is not None and hi < value <= hot[1]:
                pred.warnings.append(
                    f"{label} = {value:.4g} is above the simulated training range [{lo:.4g}, "
                    f"{hi:.4g}]; the model saw this temperature only in thermally extrapolated "
                    f"training states (up to T* {hot[1]:.3g}), so expect a larger epsilon error "
                    f"there (README: transferability split and blind check)"
                )
            else:
                pred.warnings.append(f"{label} = {value:.4g} is outside the training range [{lo:.4g}, {hi:.4g}]")
        # distance of the input from the training inputs, in units of the training spread
        z = self._scaled_inputs(gx)
        lim = self.meta.get("input_zmax")
        if lim is not None and float(np.max(np.abs(z))) > lim:
            pred.warnings.append(
                f"the RDF differs from every training RDF (max |z| = {np.max(np.abs(z)):.3g} > "
                f"{lim:.3g}); it may not be a {'Mie' if self.is_mie else 'Lennard-Jones'} fluid"
            )
        rel = max(pred.sigma_std / pred.sigma, pred.epsilon_std / pred.epsilon)
        if rel > self.meta.get("max_relative_std", 0.1):
            pred.warnings.append(f"ensemble members disagree (relative std {rel:.3g})")
        pred.in_domain = not pred.warnings

    @property
    def grid(self) -> np.ndarray:
        """The input grid x = r rho^(1/3) (dimensionless)."""
        return X_GRID if self.x_grid is None else self.x_grid

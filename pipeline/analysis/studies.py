"""optuna studies of `betpipe optimize`: storage, workers, and the walk-forward report.

A study is named from everything that decides its trials (session, objective, fold, SPACE,
data files, odds source, min_bets, seed), so workers started anywhere with the same inputs and
`--storage` join the same study; each worker asks for trials until the study holds `trials`
(any state), so the N trials run once each however many workers share them. A rerun with the
same inputs on the same storage finds the studies full and reports the same result.
"""
from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
from pathlib import Path
from typing import Any, Sequence

from pipeline.analysis import optimize as op

SURPLUS = "surplus"  # user attr of a trial asked after the study was full: never run


def storage_for(url: str | None, default_dir: Path, session_id: str):
    """optuna storage: a database URL (sqlite:///…, postgresql://…) as RDBStorage, else a
    journal file (default `default_dir/<session>.journal`)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if url and "://" in url:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as e:  # sqlalchemy's IntegrityError: another worker made the schema
            if "IntegrityError" not in type(e).__name__:
                raise
            return optuna.storages.RDBStorage(url)  # between our look and our insert
    path = Path(url) if url else default_dir / f"{_safe(session_id)}.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(_batched(JournalFileBackend)(str(path)))


def _batched(base):
    """optuna's journal file backend (each append locked, written and fsynced) with a trial's
    parameters, user and system attributes held back and appended with the next other record
    — the trial's end state (`study.tell`), or failing that the next trial's creation — in one
    append: 2 fsynced appends per trial instead of 6–7 (ask, 3 parameters, TPE's relative
    parameters, figures, tell). The trial's number, its claim, is appended at once as before,
    so every trial still runs once. What other workers miss meanwhile is a running trial's
    parameters: TPE's constant liar does not steer them away from it (with `--jobs 1`
    nothing changes: the same trials for the same seed)."""
    try:  # optuna's private op codes (4.x): without them, the plain backend, just slower
        from optuna.storages.journal._storage import JournalOperation as Op
    except ImportError:
        return base

    held_ops = {Op.SET_TRIAL_PARAM, Op.SET_TRIAL_USER_ATTR, Op.SET_TRIAL_SYSTEM_ATTR}

    class Batched(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._held: list[dict] = []

        def append_logs(self, logs: list[dict]) -> None:
            if logs and all(log.get("op_code") in held_ops for log in logs):
                self._held += logs
                return
            logs, self._held = self._held + list(logs), []
            super().append_logs(logs)

    return Batched


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def study_name(search: op.Search, fold: op.Fold, key: dict) -> str:
    digest = hashlib.sha1(json.dumps({**key, "train": fold.train, "objective": search.objective,
                                      "min_bets": search.min_bets},
                                     sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{_safe(search.data.base.id)}-{search.objective}-{fold.name}-{digest}"


def run_fold(search: op.Search, fold: op.Fold, storage, name: str, trials: int,
             seed: int | None) -> None:
    """Ask and run trials of the fold's study until it holds `trials` trials."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                direction="maximize", load_if_exists=True)
    while len(study.get_trials(deepcopy=False)) < trials:
        trial = study.ask()
        if trial.number >= trials:  # another worker filled the study meanwhile
            trial.set_user_attr(SURPLUS, True)
            study.tell(trial, state=TrialState.PRUNED)
            break
        value, fig = search.trial(trial, fold)
        trial.set_user_attr("figures", fig)  # appended with the tell (journal: `_batched`)
        if value is None:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, value)


def _worker(search, fold_specs, storage_url, default_dir, trials, seed, index) -> None:
    storage = storage_for(storage_url, default_dir, search.data.base.id)
    for fold, name in fold_specs:
        run_fold(search, fold, storage, name, trials, None if seed is None else seed + index)


def search_all(search: op.Search, the_folds: Sequence[op.Fold], key: dict, *,
               storage_url: str | None, default_dir: Path, trials: int, jobs: int,
               seed: int | None) -> list[tuple[op.Fold, str]]:
    """Run every fold's study to `trials` trials with `jobs` worker processes (1: in this
    one); returns (fold, study name) pairs."""
    specs = [(f, study_name(search, f, key)) for f in the_folds]
    data = search.data  # what every trial reuses, made once (before the workers fork)
    for f in the_folds:
        data.trials(f.train)
    data.tables(data.config.model_copy(update={"sessions": [data.base]}), data.base)
    # the collector need not walk what lives until the end (a pass over it after every trial
    # otherwise costs as much as a small trial)
    gc.freeze()
    try:
        if jobs <= 1:
            _worker(search, specs, storage_url, default_dir, trials, seed, 0)
        else:
            _fork(search, specs, storage_url, default_dir, trials, jobs, seed)
    finally:
        gc.unfreeze()
    return specs


def _fork(search, specs, storage_url, default_dir, trials, jobs, seed) -> None:
    # fork: each worker starts with the parsed CSVs and prepared matches (made once, before)
    if storage_url and "://" in storage_url:  # a new database gets its tables here, once
        storage_for(storage_url, default_dir, "").engine.dispose()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(search, specs, storage_url, default_dir, trials,
                                               seed, i), daemon=True) for i in range(jobs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode]
    if bad:
        raise op.OptimizeError(f"{len(bad)} of {jobs} workers failed (exit codes {bad})")


def best(storage, name: str) -> tuple[dict[str, Any], float, dict] | None:
    """(params, value, figures) of the study's best trial; None when no trial counted."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=storage)
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        return None
    t = max(done, key=lambda t: (t.value, -t.number))  # ties: the earliest trial
    return t.params, t.value, dict(t.user_attrs.get("figures", {}))


def report(search: op.Search, specs: Sequence[tuple[op.Fold, str]], storage) -> dict:
    """The `--json` document: per fold its best params, train value, test figures; the
    out-of-sample sum; a warning when out-of-sample ROI falls far below in-sample."""
    rows, tests, train_figs = [], [], []
    for fold, name in specs:
        got = best(storage, name)
        row: dict[str, Any] = {"train_seasons": list(fold.train), "test_season": fold.test,
                               "study": name, "best_params": None, "train_value": None,
                               "train": None, "test": None}
        if got is not None:
            params, value, fig = got
            row["best_params"] = op.report_params(params)
            row["train_value"] = round(value, 6)
            row["train"] = {k: fig.get(k) for k in ("bets", "staked", "profit", "roi")}
            if fold.test is not None:
                t = op.test_figures(search.data, params, fold.test)
                tests.append(t)
                train_figs.append(row["train"])
                row["test"] = {k: t[k] for k in ("bets", "staked", "profit", "roi")}
        rows.append(row)
    walk = any(f.test for f, _ in specs)
    doc = {"session": search.data.base.id, "objective": search.objective, "folds": rows,
           "out_of_sample": op.summed(tests) if walk else None,
           "in_sample": op.summed(train_figs) if walk else None, "warning": None,
           "equity": op.chained_equity(tests) if walk else []}
    if walk and tests:
        ins, oos = doc["in_sample"]["roi"], doc["out_of_sample"]["roi"]
        if op.far_below(ins, oos):
            doc["warning"] = (f"out-of-sample ROI {oos:.2%} is far below in-sample {ins:.2%}: "
                              f"the parameters fit the training seasons, not the game")
    return doc

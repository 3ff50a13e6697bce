"""Results as CSV, and the seed's ratios: speedup, memory saving, library and throughput ratios.

The recorded results (the CSVs chapter 12 reads) ship inside the package, in
``bertedu/bench/results/``; :func:`recorded_results` finds them in a checkout and in an
installed wheel alike. Two ways to state a memory difference are both used (and named) in the
book: the seed's *memory saving* ``m_eager / m_sdpa - 1`` (how much more eager needs) and *less
memory* ``1 - m_sdpa / m_eager`` (the fraction SDPA removes); for a saving ``s`` the second is
``s / (1 + s)``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from .workload import AGREEMENT_COLUMNS, COLUMNS, TOLERANCES


def recorded_results() -> Path:
    """The folder of the recorded benchmark CSVs and GPU profiles shipped with bertedu."""
    folder = Path(__file__).resolve().parent / "results"
    if not folder.is_dir():
        raise FileNotFoundError(f"the recorded results are missing from this installation: "
                                f"{folder}")
    return folder

# ------------------------------------------------------------------------------- reporting


def write_csv(rows: list[dict[str, Any]], path: str | os.PathLike,
              columns: tuple[str, ...] = COLUMNS) -> Path:
    """Write rows with the header ``columns`` (default :data:`COLUMNS`; parent folders are
    created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a results CSV back, converting numeric and boolean columns.

    Rows of a benchmark CSV recorded before the measured-agreement columns existed
    (:data:`~bertedu.bench.workload.AGREEMENT_COLUMNS`) get ``atol``/``rtol`` from
    :data:`~bertedu.bench.workload.TOLERANCES` (the tolerances they were checked with) and empty
    values for the differences they did not record.
    """
    ints = {"threads", "batch", "seq", "real_tokens", "reps", "warmup", "calls"}
    rows = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if value in ("True", "False"):
                    row[key] = value == "True"
                elif key in ints:
                    row[key] = int(value)
                else:
                    try:
                        row[key] = float(value) if value != "" and key not in (
                            "torch_version", "transformers_version") else value
                    except ValueError:
                        row[key] = value
            if "eager_sdpa_agree" in row and "atol" not in row:
                row.update(dict.fromkeys(AGREEMENT_COLUMNS, ""))
                row["atol"], row["rtol"] = TOLERANCES[row["dtype"]]
            rows.append(row)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios per grid point, the seed's way: ``speedup % = (t_eager / t_sdpa - 1) * 100``,
    ``memory saving % = (m_eager / m_sdpa - 1) * 100``, and ``less memory % = (1 - m_sdpa /
    m_eager) * 100`` (the fraction of eager's peak that SDPA removes); ``transformers /
    bertedu`` time ratio of the same implementation; for variable-length rows each
    implementation's throughput over transformers' SDPA.
    """
    index = {(r["benchmark"], r["library"], r["implementation"], r["batch"], r["seq"]): r
             for r in rows}
    out = []
    for (bench, lib, impl, B, T), r in index.items():
        entry: dict[str, Any] = {"benchmark": bench, "library": lib, "implementation": impl,
                                 "batch": B, "seq": T}
        if bench == "varlen-train":
            ref = index.get((bench, "transformers", "sdpa", B, T))
            if ref is None:
                ref = index.get((bench, "bertedu", "sdpa", B, T))
            entry["throughput_vs_ref"] = r["tokens_per_s"] / ref["tokens_per_s"] if ref else ""
            entry["mfu"] = r.get("mfu", "")
            out.append(entry)
            continue
        if impl != "sdpa":
            continue
        eager = index.get((bench, lib, "eager", B, T))
        if eager is not None:
            entry["speedup_pct"] = 100 * (eager["time_median_s"] / r["time_median_s"] - 1)
            entry["mem_saving_pct"] = 100 * (eager["peak_mem_mb"] / r["peak_mem_mb"] - 1)
            entry["less_mem_pct"] = 100 * (1 - r["peak_mem_mb"] / eager["peak_mem_mb"])
        if lib == "bertedu":
            for other in ("eager", "sdpa"):
                theirs = index.get((bench, "transformers", other, B, T))
                ours = index.get((bench, "bertedu", other, B, T))
                if theirs and ours:
                    entry[f"transformers_over_bertedu_{other}"] = (
                        theirs["time_median_s"] / ours["time_median_s"])
        out.append(entry)
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the rows and of :func:`summarize`."""
    head = (f"{'benchmark':<13}{'library':<13}{'impl':<17}{'B':>4}{'T':>5}"
            f"{'median ms':>11}{'IQR ms':>16}{'MiB':>9}{'tok/s':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        iqr = f"{1e3 * r['time_q1_s']:.2f}-{1e3 * r['time_q3_s']:.2f}"
        lines.append(f"{r['benchmark']:<13}{r['library']:<13}{r['implementation']:<17}"
                     f"{r['batch']:>4}{r['seq']:>5}{1e3 * r['time_median_s']:>11.2f}{iqr:>16}"
                     f"{r['peak_mem_mb']:>9.1f}{r['tokens_per_s']:>11.0f}")
    lines += ["", "ratios (speedup % and memory saving % as in the seed: eager/sdpa - 1; "
              "less memory %: 1 - sdpa/eager)"]
    for s in summarize(rows):
        parts = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items()
                 if k not in ("benchmark", "library", "implementation", "batch", "seq")
                 and v != ""]
        lines.append(f"  {s['benchmark']:<13}{s['library']:<13}{s['implementation']:<17}"
                     f"B={s['batch']:<4}T={s['seq']:<5}" + "  ".join(parts))
    return "\n".join(lines)


def default_csv_name(rows: list[dict[str, Any]], compile: bool = False,
                     compile_mode: str | None = None) -> str:
    """``<grid>_<dtype>_<device slug>.csv`` for the rows of one run.

    A run with ``torch.compile`` variants gets ``_compile-<mode>`` before the suffix, so that it
    never overwrites the plain run of the same grid.
    """
    r = rows[0]
    slug = "".join(c if c.isalnum() else "-" for c in r["device_name"].lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    tag = f"_compile-{compile_mode or 'default'}" if compile else ""
    return f"{r['grid']}_{r['dtype']}_{slug[:40]}{tag}.csv"

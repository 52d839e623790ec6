"""Generate synthetic customer tables for the engine benchmarks, in chunks.

Usage: ``python benchmarks/spark_data.py ROWS [OUT.parquet]`` (default
``benchmarks/data/customers-<ROWS>.parquet``). Memory stays at one chunk
(1,000,000 rows); the file is written row group by row group.

Columns: ``customer_id`` (text), ``gender`` (with ~1% missing), ``age_band``,
``region``, ``tenure`` (int, ~0.5% missing), ``monthly_charges`` (float,
~2% missing), ``churned`` (label 0/1), ``score`` (float) and ``offer`` (the
precomputed 0/1 decision, biased by age band so the audit has something to find).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
GENDERS = np.array(["Female", "Male", "Nonbinary"], dtype=object)
AGE_BANDS = np.array(["18-29", "30-44", "45-64", "65+"], dtype=object)
REGIONS = np.array(["north", "south", "east", "west", "central"], dtype=object)


def chunk(start: int, rows: int, seed: int = 7) -> pa.Table:
    """Rows ``start .. start+rows`` (deterministic for a given start)."""
    rng = np.random.default_rng([seed, start])
    gender = GENDERS[rng.choice(3, rows, p=[0.49, 0.49, 0.02])]
    gender[rng.random(rows) < 0.01] = None
    age = rng.integers(0, 4, rows)
    region = REGIONS[rng.integers(0, 5, rows)]
    tenure = rng.integers(0, 72, rows).astype(float)
    tenure[rng.random(rows) < 0.005] = np.nan
    charges = np.round(rng.uniform(18, 120, rows), 2)
    charges[rng.random(rows) < 0.02] = np.nan
    score = np.clip(rng.beta(2, 5, rows) + 0.05 * (age == 3), 0, 1)
    offer = (score >= 0.35).astype(np.int8)
    churned = (rng.random(rows) < score).astype(np.int8)
    ids = np.char.add("C", np.arange(start, start + rows).astype(str))
    return pa.table({
        "customer_id": pa.array(ids),
        "gender": pa.array(gender, type=pa.string()),
        "age_band": pa.array(AGE_BANDS[age], type=pa.string()),
        "region": pa.array(region, type=pa.string()),
        "tenure": pa.array(tenure, from_pandas=True).cast(pa.int32()),
        "monthly_charges": pa.array(charges, from_pandas=True),
        "churned": pa.array(churned),
        "score": pa.array(score),
        "offer": pa.array(offer),
    })


def generate(rows: int, out: Path) -> Path:
    """Write ``rows`` rows to ``out`` in 1M-row chunks."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    writer = None
    try:
        for start in range(0, rows, CHUNK):
            table = chunk(start, min(CHUNK, rows - start))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(out)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1])
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else (
        Path(__file__).parent / "data" / f"customers-{n}.parquet")
    print(generate(n, target))

"""The one machine-readable line each benchmark prints last, read by bench/report.py.

`RESULT {json}` with: benchmark (the script's name), met (every target met), target (what the issue asks, in
words) and rows, each {label, value, unit, target, anchor, met, detail}: `anchor` is the figure the value is compared
with, measured in the same run (Radicale, WeasyPrint alone, a constant response), or null; `detail` says more
(a median, a count of SQL statements).
"""

import json


def row(label: str, value, unit: str = "", target: str | None = None, anchor: str | None = None,
        met: bool | None = None, detail: str | None = None) -> dict:
    if isinstance(value, float):
        value = round(value, 3)
    return {"label": label, "value": value, "unit": unit, "target": target, "anchor": anchor, "met": met,
            "detail": detail}


def emit(benchmark: str, met: bool, target: str, rows: list[dict], **extra) -> None:
    print("RESULT " + json.dumps({"benchmark": benchmark, "met": met, "target": target, "rows": rows, **extra},
                                 ensure_ascii=False), flush=True)

"""Vietnamese tax codes (mã số thuế): a pure check, with no Flask or database inside."""

import re
from enum import Enum

_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_PATTERN = re.compile(r"(\d{10})(?:-(\d{3}))?", re.ASCII)  # ASCII digits only: int() reads ٣ and ３ as 3 too


class TaxCodeProblem(Enum):
    FORMAT = "format"
    CHECK_DIGIT = "check_digit"


def normalize_tax_code(value: str) -> str:
    """Drop the spaces people type or paste around and inside a code."""
    return "".join(value.split())


def check_digit(first_nine: str) -> int | None:
    """The 10th digit for these nine digits, or None when the rule gives 10 (no valid code exists)."""
    remainder = sum(w * int(d) for w, d in zip(_WEIGHTS, first_nine, strict=True)) % 11
    digit = 10 - remainder
    return None if digit == 10 else digit


def tax_code_problem(value: str) -> TaxCodeProblem | None:
    """None when `value` is a valid code (10 digits, or 10 digits, '-', 3 digits); else what is wrong."""
    match = _PATTERN.fullmatch(normalize_tax_code(value))
    if match is None:
        return TaxCodeProblem.FORMAT
    head = match.group(1)
    if match.group(2) == "000":  # a dependent unit is numbered from 001
        return TaxCodeProblem.FORMAT
    expected = check_digit(head[:9])
    if expected is None or expected != int(head[9]):
        return TaxCodeProblem.CHECK_DIGIT
    return None


def is_valid_tax_code(value: str) -> bool:
    return tax_code_problem(value) is None

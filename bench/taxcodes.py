"""Valid tax codes for the benchmarks' made-up businesses (ten digits, the last one a check digit)."""

from dialogue_app.org.taxcode import check_digit


def tax_codes(n: int, prefix: str = "03") -> list[str]:
    """The first `n` valid codes beginning with `prefix`: a benchmark that builds businesses beside another's
    gives its own prefix, so that their codes never meet."""
    codes, serial = [], 0
    while len(codes) < n:
        serial += 1
        head = f"{prefix}{serial:07d}"
        digit = check_digit(head)
        if digit is not None:
            codes.append(f"{head}{digit}")
    return codes

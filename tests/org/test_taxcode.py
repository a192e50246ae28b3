from hypothesis import given
from hypothesis import strategies as st

from dialogue_app.org.taxcode import TaxCodeProblem, check_digit, is_valid_tax_code, tax_code_problem

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def test_codes_from_the_contract():
    assert is_valid_tax_code("0100109106")
    assert tax_code_problem("0100109107") is TaxCodeProblem.CHECK_DIGIT


def test_dependent_unit_code_and_spaces():
    assert is_valid_tax_code("0100109106-001")
    assert is_valid_tax_code(" 0100 109 106 ")
    assert tax_code_problem("0100109106-01") is TaxCodeProblem.FORMAT
    assert tax_code_problem("0100109106-000") is TaxCodeProblem.FORMAT  # dependent units are numbered from 001
    assert tax_code_problem("0100109106001") is TaxCodeProblem.FORMAT
    assert tax_code_problem("01001O9106") is TaxCodeProblem.FORMAT
    assert tax_code_problem("") is TaxCodeProblem.FORMAT


@given(nine_digits)
def test_the_computed_check_digit_is_the_only_valid_one(head):
    digit = check_digit(head)
    valid = [d for d in range(10) if is_valid_tax_code(f"{head}{d}")]
    assert valid == ([] if digit is None else [digit])


def test_a_remainder_of_zero_leaves_no_valid_code():
    # 31*1 + 29*0 + 23*0 + 19*1 + ... chosen so the weighted sum is a multiple of 11.
    head = next(f"{n:09d}" for n in range(10**6) if check_digit(f"{n:09d}") is None)
    assert not any(is_valid_tax_code(f"{head}{d}") for d in range(10))

"""The demos: a small Vietnamese demo for a newcomer (small.py) and the national one for load and reports
(national.py). Only `flask seed-demo` and the tests use them; nothing in the running app imports them."""

"""Pages and API resources validate, call a service, commit and render: the queries live in the services, where
the page and the API share them and where scope is asked. This keeps it so."""

import re
from pathlib import Path

import dialogue_app

PACKAGE = Path(dialogue_app.__file__).parent
QUERYING = re.compile(r"\bselect\(|session\.(execute|get|scalars?)\(|db\.(get_or_404|paginate|first_or_404)\(")
ROLE_TESTS = re.compile(r"\.role\s*(==|!=|in\b|not in\b)|roles_required|Role\.[A-Z]|(?<!request)\.path\.startswith\(")


def modules():
    for folder in ("views", "api"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            name = f"{folder}/{path.name}"
            yield name, path.read_text()


def test_views_and_api_resources_run_no_query_of_their_own():
    found = [f"{name}:{n}: {line.strip()}" for name, text in modules()
             for n, line in enumerate(text.splitlines(), 1) if QUERYING.search(line)]
    assert found == [], "move these queries into the domain's services:\n" + "\n".join(found)


def test_views_and_api_resources_leave_who_sees_what_to_scope():
    found = [f"{name}:{n}: {line.strip()}" for name, text in modules()
             for n, line in enumerate(text.splitlines(), 1) if ROLE_TESTS.search(line)]
    assert found == [], "ask dialogue_app.scope (requires, may, is_*, units_below) instead:\n" + "\n".join(found)

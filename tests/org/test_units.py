import re

import pytest
from sqlalchemy import select

from dialogue_app.exceptions import Conflict, InvalidData
from dialogue_app.extensions import db
from dialogue_app.org import services
from dialogue_app.org.models import Unit


def test_levels_must_nest(units):
    with pytest.raises(InvalidData) as error:
        services.create_unit(code="X", name="x", level="branch", parent=units["TCHQ"])
    assert "parent" in error.value.fields
    with pytest.raises(InvalidData):
        services.create_unit(code="Y", name="y", level="department", parent=units["HCM"])
    with pytest.raises(InvalidData):
        services.create_unit(code="Z", name="z", level="general", parent=units["TCHQ"])
    with pytest.raises(Conflict):  # one top to the tree: a second would hold units nobody above could see
        services.create_unit(code="G2", name="g", level="general", parent=None)
    db.session.rollback()
    assert db.session.execute(select(Unit.code).where(Unit.code.in_(["X", "Y", "Z"]))).all() == []


def test_moving_a_branch_to_another_department_moves_it_in_the_tree(units):
    services.update_unit(units["HCM-A"], code="HCM-A", name="Chi cục A", parent=units["QN"])
    db.session.commit()
    branch = db.session.get(Unit, units["HCM-A"].id)
    assert branch.path.startswith(units["QN"].path) and not branch.path.startswith(units["HCM"].path)


def test_a_unit_with_anything_under_it_cannot_be_deleted(units, make_business, make_user):
    with pytest.raises(Conflict):
        services.delete_unit(units["HCM"])  # has branches
    make_business(units["QN-A"])
    with pytest.raises(Conflict):
        services.delete_unit(units["QN-A"])
    make_user("organiser", units["QN-B"])
    with pytest.raises(Conflict):
        services.delete_unit(units["QN-B"])
    services.delete_unit(units["HCM-B"])
    db.session.commit()
    assert db.session.execute(select(Unit).where(Unit.code == "HCM-B")).scalar_one_or_none() is None


def test_admin_creates_a_unit_from_the_page_and_sees_errors_in_vietnamese(client, login, make_user, units):
    login(make_user("admin"))
    page = client.post("/admin/units", data={"code": "HCM-C", "name": "Chi cục C", "level": "branch",
                                             "parent": "TCHQ"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Chi cục phải thuộc một Cục" in html
    assert db.session.execute(select(Unit).where(Unit.code == "HCM-C")).scalar_one_or_none() is None

    done = client.post("/admin/units", data={"code": "hcm-c", "name": "Chi cục C", "level": "branch",
                                             "parent": "HCM"}, follow_redirects=True)
    assert "HCM-C" in done.get_data(as_text=True)
    assert db.session.execute(select(Unit).where(Unit.code == "HCM-C")).scalar_one().parent.code == "HCM"


def test_deleting_a_unit_in_use_from_the_page_says_why(client, login, make_user, units):
    login(make_user("admin"))
    response = client.post(f"/admin/units/{units['QN'].id}/delete", follow_redirects=True)
    assert "vẫn còn" in response.get_data(as_text=True)
    assert db.session.get(Unit, units["QN"].id) is not None


def test_a_managers_home_counts_each_unit_with_the_units_below_it(client, login, make_user, make_business, units):
    for code, businesses in (("HCM-A", 2), ("HCM-B", 1), ("QN-A", 3), ("HCM", 1)):
        for n in range(businesses):
            make_business(units[code], name=f"Công ty {code} {n}")
    make_user("organiser", units["QN-B"])
    login(make_user("manager", units["TCHQ"]))
    html = client.get("/").get_data(as_text=True)

    def counts(code: str) -> list[str]:
        row = re.search(r'<tr class="level-\w+">\s*<td class="unit-name">[^<]*<span class="muted">\(' + re.escape(code)
                        + r'\)</span></td>(.*?)</tr>', html, re.S)
        assert row, code
        return re.findall(r'<td class="num">(\d+)</td>', row.group(1))

    # Businesses served, then active accounts, each with every unit below: a Department answers for its branches.
    assert counts("TCHQ") == ["7", "2"]
    assert counts("HCM") == ["4", "0"]
    assert counts("HCM-A") == ["2", "0"]
    assert counts("QN") == ["3", "1"]
    assert counts("QN-B") == ["0", "1"]

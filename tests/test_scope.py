from sqlalchemy import select

from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.org.models import Business, Unit
from dialogue_app.scope import get_visible, visible, visible_units_condition, visible_users_condition


def codes(user) -> set[str]:
    return set(db.session.execute(select(Unit.code).where(visible_units_condition(user))).scalars())


def test_each_role_sees_its_part_of_the_hierarchy(units, make_user, make_business):
    assert codes(make_user("admin")) == set(units)
    assert codes(make_user("manager", units["TCHQ"])) == set(units)
    assert codes(make_user("manager", units["QN"])) == {"QN", "QN-A", "QN-B"}
    assert codes(make_user("organiser", units["QN-A"])) == {"QN-A"}
    business = make_business(units["QN-A"])
    assert codes(make_user("business", business=business)) == {"QN-A"}


def test_businesses_and_users_follow_the_same_rule(units, make_user, make_business):
    own = make_business(units["HCM-A"], name="Công ty A")
    neighbour = make_business(units["HCM-B"], name="Công ty B")
    far = make_business(units["QN-A"], name="Công ty C")
    department = make_user("manager", units["HCM"])
    branch = make_user("organiser", units["HCM-A"])
    business_user = make_user("business", business=own)

    def names(user):
        return set(db.session.execute(select(Business.name).where(visible(user, Business))).scalars())

    assert names(department) == {"Công ty A", "Công ty B"}
    assert names(branch) == {"Công ty A"}
    assert names(business_user) == {"Công ty A"}
    assert get_visible(branch, Business, neighbour.id) is None
    assert get_visible(department, Business, far.id) is None
    visible_users = set(db.session.execute(select(User.id).where(visible_users_condition(branch))).scalars())
    assert visible_users == {branch.id, business_user.id}
    assert set(db.session.execute(select(User.id).where(visible_users_condition(business_user))).scalars()) == \
        {business_user.id}


def test_out_of_scope_answers_not_found_through_the_api(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    other = make_user("organiser", units["QN-A"])
    assert organiser.get(f"/api/v1/users/{other.id}").status_code == 404
    assert organiser.get("/api/v1/units/QN-A").status_code == 404
    assert organiser.get("/api/v1/units/NO-SUCH").status_code == 404

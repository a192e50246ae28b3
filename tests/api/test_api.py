import re

from sqlalchemy import select

from dialogue_app.auth.models import ApiToken, User
from dialogue_app.extensions import db

from ..conftest import PASSWORD


def test_token_lifecycle(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    created = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert created.status_code == 201
    token = created.json["token"]
    assert len(token) >= 43 and created.json["expires_at"].endswith("+07:00")
    stored = db.session.execute(select(ApiToken.token_hash)).scalar_one()
    assert token not in stored  # only a hash is kept

    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    revoking = client.delete("/api/v1/tokens/current", headers=headers)
    assert revoking.status_code == 204 and revoking.data == b"" and "Content-Type" not in revoking.headers
    revoked = client.get("/api/v1/units", headers=headers)
    assert revoked.status_code == 401
    assert revoked.json["error"]["code"] == "unauthorized"


def test_bad_credentials_and_no_token(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    wrong = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"})
    assert wrong.status_code == 401 and wrong.json["error"]["message"] == "Email hoặc mật khẩu không đúng."
    assert client.get("/api/v1/units").status_code == 401
    refused = client.get("/api/v1/units", headers={"Authorization": "Bearer nonsense"})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_does_not_open_the_api(client, login, make_user, units):
    # The API is exempt from CSRF, so only a bearer token may authenticate it.
    login(make_user("admin"))
    assert client.get("/api/v1/units").status_code == 401


def test_errors_have_one_shape(api, make_user, units):
    admin = api(make_user("admin"))
    for response, status, code in [
        (admin.get("/api/v1/nowhere"), 404, "not_found"),
        (admin.put("/api/v1/units"), 405, "bad_request"),
        (admin.post("/api/v1/units", json={"code": "X"}), 422, "validation_error"),
        (admin.post("/api/v1/units", data="{not json", content_type="application/json"), 400, "bad_request"),
        (admin.post("/api/v1/units", json=["a", "list"]), 422, "validation_error"),
        (admin.post("/api/v1/units", json={"code": "HCM", "name": "x", "level": "department",
                                           "parent": "TCHQ"}), 409, "conflict"),
        (admin.get("/api/v1/units?per_page=500"), 422, "validation_error"),
    ]:
        assert response.status_code == status, response.json
        assert set(response.json) == {"error"}
        assert response.json["error"]["code"] == code
        assert set(response.json["error"]) == {"code", "message", "fields"}


def test_validation_errors_name_the_field_in_vietnamese(api, make_user, units):
    response = api(make_user("admin")).post("/api/v1/units", json={"code": "HCM-C", "level": "branch"})
    assert response.json["error"]["fields"] == {"name": ["Trường này là bắt buộc."]}
    nesting = api(make_user("admin")).post(
        "/api/v1/units", json={"code": "HCM-C", "name": "C", "level": "branch", "parent": "TCHQ"}
    )
    assert nesting.json["error"]["fields"] == {"parent": ["Chi cục phải thuộc một Cục."]}


def test_units_list_is_paginated_and_scoped(api, make_user, units):
    department_manager = api(make_user("manager", units["HCM"]))
    listed = department_manager.get("/api/v1/units?per_page=2&page=2").json
    assert listed["total"] == 3 and listed["page"] == 2 and listed["per_page"] == 2
    assert [u["code"] for u in listed["items"]] == ["HCM-B"]
    everything = department_manager.get("/api/v1/units").json["items"]
    assert {u["code"] for u in everything} == {"HCM", "HCM-A", "HCM-B"}
    feed_url = everything[1].pop("feed_url")
    assert everything[1] == {"code": "HCM-A", "name": "Đơn vị HCM-A", "level": "branch", "parent": "HCM"}
    assert feed_url.startswith("http://localhost/feeds/") and feed_url.endswith(".ics")
    assert department_manager.get("/api/v1/units/QN-A").status_code == 404
    assert department_manager.get("/api/v1/units/HCM-A").json["parent"] == "HCM"


def test_only_admins_create_units_and_users(api, make_user, units):
    organiser = api(make_user("organiser", units["HCM-A"]))
    refused = organiser.post("/api/v1/units", json={"code": "N", "name": "n", "level": "general", "parent": None})
    assert refused.status_code == 403
    admin = api(make_user("admin"))
    created = admin.post("/api/v1/units", json={"code": "HCM-C", "name": "Chi cục C", "level": "branch",
                                                "parent": "HCM"})
    assert created.status_code == 201 and created.json["parent"] == "HCM"


def test_admin_creates_users_and_duplicates_are_refused(api, make_user, make_business, units):
    admin = api(make_user("admin"))
    body = {"email": "Lan.Do@Example.vn", "name": "Đỗ Thị Lan", "password": "mật khẩu dài đủ",
            "role": "manager", "unit": "QN"}
    created = admin.post("/api/v1/users", json=body)
    assert created.status_code == 201
    assert created.json["email"] == "lan.do@example.vn" and created.json["unit"] == "QN"
    assert "password" not in created.json
    again = admin.post("/api/v1/users", json={**body, "email": "LAN.DO@example.vn"})
    assert again.status_code == 409 and "email" in again.json["error"]["fields"]

    no_unit = admin.post("/api/v1/users", json={**body, "email": "x@example.vn", "unit": None})
    assert no_unit.status_code == 422 and "unit" in no_unit.json["error"]["fields"]
    business = make_business(units["QN-A"])
    business_user = admin.post("/api/v1/users", json={**body, "email": "dn@example.vn", "role": "business",
                                                      "unit": None, "business_id": business.id})
    assert business_user.status_code == 201 and business_user.json["unit"] == "QN-A"
    assert db.session.execute(select(User).where(User.email == "dn@example.vn")).scalar_one().business_id == \
        business.id
    # Another unit named: refused, saying which (the account belongs to the unit serving its business, whose lists
    # it sees); nothing made, nothing changed.
    elsewhere = admin.post("/api/v1/users", json={**body, "email": "dn2@example.vn", "role": "business",
                                                  "unit": "QN", "business_id": business.id})
    assert elsewhere.status_code == 422 and "unit" in elsewhere.json["error"]["fields"]
    assert db.session.execute(select(User).where(User.email == "dn2@example.vn")).scalar_one_or_none() is None
    moved = admin.patch(f"/api/v1/users/{business_user.json['id']}", json={"unit": "QN"})
    assert moved.status_code == 422 and "unit" in moved.json["error"]["fields"]
    renamed = admin.patch(f"/api/v1/users/{business_user.json['id']}", json={"name": "Kế toán trưởng"})
    assert renamed.status_code == 200 and renamed.json["unit"] == "QN-A"
    weak = api(make_user("organiser", units["QN-A"])).put("/api/v1/users/me/password", json={
        "current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422 and list(weak.json["error"]["fields"]) == ["new_password"]
    assert "Đỗ Thị Lan" in created.get_data(as_text=True)  # Vietnamese as written, not \u escapes


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    for path in ("/api/v1/tokens", "/api/v1/tokens/current", "/api/v1/units", "/api/v1/users"):
        assert path in spec["paths"], path
    unit = spec["components"]["schemas"]["Unit"]
    assert set(unit["required"]) == {"code", "name", "level"}
    assert unit["properties"]["level"]["enum"] == ["general", "department", "branch"]
    assert spec["paths"]["/api/v1/tokens"]["post"]["security"] == []
    page = client.get("/help/api")
    assert page.status_code == 200 and "/api/v1/units" in page.get_data(as_text=True)


def test_topics_are_listed_and_a_business_reads_only_those_it_may_raise_under(api, make_user, make_business, units,
                                                                             topics, login, client):
    topics["origin"].active = False
    db.session.commit()
    staff = api(make_user("organiser", units["HCM-A"])).get("/api/v1/topics?per_page=200").json
    codes = [t["code"] for t in staff["items"]]
    assert staff["total"] == len(topics) and "origin" in codes and "conduct" in codes
    conduct = next(t for t in staff["items"] if t["code"] == "conduct")
    assert conduct["sensitive"] is True and conduct["active"] is True and conduct["answer_days"] > 0
    assert set(conduct) == {"code", "name", "answer_days", "sensitive", "active"}
    # A business lists what it may raise an issue under, as its form offers: those in use and not sensitive.
    business_user = make_user("business", business=make_business(units["HCM-A"]))
    business = api(business_user).get("/api/v1/topics").json
    assert {t["code"] for t in business["items"]} == set(codes) - {"origin", "conduct"}
    login(business_user)
    offered = set(re.findall(r'<option value="([a-z_]+)"', client.get("/issues/new").get_data(as_text=True)))
    assert offered == {t["code"] for t in business["items"]}


def test_a_boolean_is_json_true_or_false(api, make_user, units):
    target = make_user("organiser", units["HCM-A"])
    for value in ("yes", 1, 0.0):
        refused = api(make_user("admin")).patch(f"/api/v1/users/{target.id}", json={"active": value})
        assert refused.status_code == 422 and list(refused.json["error"]["fields"]) == ["active"], value
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True

from sqlalchemy import select

from dialogue_app.audit.models import AuditEntry
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.org.models import Unit


def entries(object_type: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == object_type).order_by(AuditEntry.id)
    ).scalars())


def test_changes_made_through_pages_name_who_made_them(client, login, make_user, units):
    admin = make_user("admin", name="Quản trị viên")
    login(admin)
    client.post(f"/admin/units/{units['QN-B'].id}", data={"code": "QN-B", "name": "Chi cục mới tên",
                                                          "level": "branch", "parent": "QN"})
    change = entries("units")[-1]
    assert change.action == "update" and change.object_id == units["QN-B"].id
    assert change.actor_id == admin.id and "Quản trị viên" in change.actor_label
    assert change.details["name"] == ["Đơn vị QN-B", "Chi cục mới tên"]

    client.post(f"/admin/units/{units['QN-B'].id}/delete")
    assert entries("units")[-1].action == "delete"
    assert db.session.get(Unit, units["QN-B"].id) is None


def test_passwords_never_reach_the_trail(client, login, make_user, units):
    admin = make_user("admin")
    target = make_user("organiser", units["HCM-A"])
    login(admin)
    client.post(f"/admin/users/{target.id}", data={
        "name": target.name, "role": "organiser", "unit": "HCM-A", "language": "vi", "active": "y",
        "password": "a brand new password",
    })
    updated = entries("users")[-1]
    assert updated.action == "update" and updated.object_id == target.id
    assert updated.details == {"password_hash": "(changed)"}
    assert all("scrypt" not in str(e.details) for e in entries("users"))
    assert db.session.get(User, target.id).check_password("a brand new password")


def test_the_trail_page_lists_entries(client, login, make_user, units):
    login(make_user("admin"))
    page = client.get("/admin/audit?object_type=units").get_data(as_text=True)
    assert "units" in page and "TCHQ" in page

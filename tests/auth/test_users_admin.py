from sqlalchemy import select

from dialogue_app.auth.models import User
from dialogue_app.extensions import db


def form(**overrides):
    data = {"email": "mai@example.vn", "name": "Nguyễn Thị Mai", "role": "organiser", "unit": "HCM-A",
            "business_tax_code": "", "language": "vi", "password": "mật khẩu đủ dài"}
    data.update(overrides)
    return data


def test_admin_creates_an_account(client, login, make_user, units):
    login(make_user("admin"))
    response = client.post("/admin/users/new", data=form(), follow_redirects=True)
    assert "mai@example.vn" in response.get_data(as_text=True)
    user = db.session.execute(select(User).where(User.email == "mai@example.vn")).scalar_one()
    assert user.unit.code == "HCM-A" and user.check_password("mật khẩu đủ dài")


def test_bad_fields_are_named_and_nothing_is_saved(client, login, make_user, units):
    login(make_user("admin"))
    existing = make_user("organiser", units["HCM-A"])
    cases = [
        (form(email="not-an-email"), "Địa chỉ email không hợp lệ"),
        (form(email=existing.email.upper()), "Đã có tài khoản dùng email này."),
        (form(unit=""), "Hãy chọn đơn vị"),
        (form(role="business", business_tax_code="0100109107"), "Không có doanh nghiệp nào"),
        (form(password="short"), "ít nhất"),
        (form(password=" " * 12), "quá dễ đoán"),  # the length, none of the strength
        (form(password="aaaaaaaaaaaa"), "quá dễ đoán"),
    ]
    before = db.session.execute(select(db.func.count()).select_from(User)).scalar_one()
    for data, message in cases:
        page = client.post("/admin/users/new", data=data)
        assert page.status_code == 200
        assert message.lower() in page.get_data(as_text=True).lower(), message
    assert db.session.execute(select(db.func.count()).select_from(User)).scalar_one() == before


def test_admin_cannot_lock_themselves_out(client, login, make_user):
    admin = make_user("admin")
    login(admin)
    client.post(f"/admin/users/{admin.id}", data=form(email=admin.email, role="organiser", unit="",
                                                      active=""))
    assert db.session.get(User, admin.id).role == "admin"
    assert db.session.get(User, admin.id).active


def test_a_business_s_account_follows_its_business_to_another_unit_and_is_still_edited(client, login, make_user,
                                                                                       make_business, units):
    from dialogue_app.org.services import update_business

    business = make_business(units["HCM-A"])
    account = make_user("business", business=business, email="ketoan@dn.example.vn")
    update_business(business, name=business.name, address=None, unit=units["HCM-B"])  # moved to another branch
    db.session.commit()
    login(make_user("admin"))
    assert client.get(f"/admin/users/{account.id}").status_code == 200  # the form shows the unit as it still is
    saved = client.post(f"/admin/users/{account.id}", data=form(
        email=account.email, name="Kế toán trưởng", role="business", unit="HCM-A",
        business_tax_code=business.tax_code, password="", active="y"))
    assert saved.status_code == 302
    db.session.expire_all()
    assert (account.name, account.unit.code) == ("Kế toán trưởng", "HCM-B")
    # Another unit than its business's, named on purpose: refused, saying which.
    refused = client.post(f"/admin/users/{account.id}", data=form(
        email=account.email, role="business", unit="QN-A", business_tax_code=business.tax_code, password="",
        active="y"))
    assert refused.status_code == 200 and "Tài khoản doanh nghiệp thuộc đơn vị" in refused.get_data(as_text=True)

import uuid

import pytest
import redis
from flask import session

from dialogue_app.extensions import db

from ..conftest import PASSWORD, csrf_token_from


def test_sign_in_and_out(client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"], name="Nguyễn Thị Mai")
    login(user)
    home = client.get("/")
    assert "Nguyễn Thị Mai" in home.get_data(as_text=True)
    assert db.session.get(type(user), user.id).last_login_at is not None
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_email_and_wrong_password_get_the_same_answer(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    wrong_password = client.post("/login", data={"email": user.email, "password": "nope nope nope"})
    wrong_email = client.post("/login", data={"email": "nobody@example.vn", "password": PASSWORD})
    assert wrong_password.status_code == wrong_email.status_code == 200
    assert "Email hoặc mật khẩu không đúng." in wrong_password.get_data(as_text=True)
    assert "Email hoặc mật khẩu không đúng." in wrong_email.get_data(as_text=True)


def test_email_is_case_insensitive(client, make_user, units):
    user = make_user("organiser", units["HCM-A"], email="Mai.Nguyen@Example.vn")
    assert user.email == "mai.nguyen@example.vn"
    response = client.post("/login", data={"email": "MAI.NGUYEN@example.VN", "password": PASSWORD})
    assert response.status_code == 302


def test_disabled_account_cannot_sign_in(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert "Email hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_failed_sign_ins_lock_the_account_not_the_office(app, client, make_user, units):
    victim = make_user("organiser", units["HCM-A"])
    colleague = make_user("organiser", units["HCM-A"])
    for _ in range(10):
        client.post("/login", data={"email": victim.email, "password": "wrong password"})
    locked = client.post("/login", data={"email": victim.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Vui lòng thử lại sau 15 phút" in locked.get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 0
    # Same address, another person: not locked out.
    assert client.post("/login", data={"email": colleague.email, "password": PASSWORD}).status_code == 302


def test_successful_sign_ins_are_not_counted(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    for _ in range(12):
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        client.post("/logout")


def test_next_goes_only_to_this_site(client, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    evil = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD})
    assert evil.headers["Location"] == "/"
    client.post("/logout")
    ok = client.post("/login?next=/help/api", data={"email": user.email, "password": PASSWORD})
    assert ok.headers["Location"] == "/help/api"


def test_security_headers_and_cookie_flags(client, make_user, units):
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"]
    user = make_user("organiser", units["HCM-A"])
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http in tests


def test_https_base_url_makes_the_cookie_secure(another_app, monkeypatch):
    monkeypatch.setenv("BASE_URL", "https://dialogue.example.vn")
    app = another_app(BASE_URL="https://dialogue.example.vn")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_forms_refuse_a_missing_csrf_token(app, client, make_user, units):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("organiser", units["HCM-A"])
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "Biểu mẫu đã hết hạn" in refused.get_data(as_text=True)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    accepted = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_staff_pages_are_not_found_for_other_roles(client, login, make_user, units, make_business):
    business = make_business(units["HCM-A"])
    for user in (make_user("organiser", units["HCM-A"]), make_user("manager", units["TCHQ"]),
                 make_user("business", business=business)):
        login(user)
        for path in ("/admin/units", "/admin/users", "/admin/audit", f"/admin/units/{units['HCM'].id}"):
            assert client.get(path).status_code == 404, (user.role, path)
        client.post("/logout")


def test_language_switch_is_remembered_for_the_account(client, login, make_user, units):
    user = make_user("organiser", units["HCM-A"])
    login(user)
    assert 'lang="vi"' in client.get("/").get_data(as_text=True)
    client.post("/language", data={"language": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in page and "Sign out" in page
    assert db.session.get(type(user), user.id).language == "en"
    with client:
        client.post("/language", data={"language": "xx", "next": "https://evil.example"})
        assert session.get("language") == "en"


def test_failed_sign_ins_are_counted_in_redis_when_configured(another_app):
    """With REDIS_URL the limits live in Redis, shared by every worker: two apps count together."""
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    shared = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    first_worker, second_worker = another_app(**shared), another_app(**shared)
    email = "nobody@example.vn"
    for worker in (first_worker, second_worker) * 5:
        worker.test_client().post("/login", data={"email": email, "password": "wrong"})
    locked = second_worker.test_client().post("/login", data={"email": email, "password": "wrong"})
    assert locked.status_code == 429


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}])
def test_behind_nginx_the_limit_counts_the_clients_address_not_the_proxys(app, client, make_user, units):
    """With PROXY_COUNT set (nginx in front), a person at one address typing wrong passwords is held back there,
    and the same account from another address is not."""
    user = make_user("organiser", units["HCM-A"])
    guesser, owner = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.20"}
    for _ in range(10):
        client.post("/login", data={"email": user.email, "password": "wrong password"}, headers=guesser)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD},
                       headers=guesser).status_code == 429
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}, headers=owner).status_code == 302

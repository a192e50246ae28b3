"""Mail people can see: the outbox page for administrators (to whom, subject, state, tries, last error, next
try; paged, with the same few queries however long it is), each message opened or downloaded, and the
development mail folder at /dev/mail that `make run` fills (a real aiosmtpd Mailbox here)."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from sqlalchemy import select

from dialogue_app.db import utcnow
from dialogue_app.extensions import db
from dialogue_app.mail import services
from dialogue_app.mail.models import OutboxMessage

from ..conftest import PASSWORD, free_port


def queue(n: int, start: int = 0) -> None:
    for index in range(start, start + n):
        services.enqueue(to=[f"ketoan{index}@caphe{index}.example.vn"], subject=f"Giấy mời số {index}",
                         text=f"Kính mời Quý doanh nghiệp số {index}.")
    db.session.commit()


def test_an_admin_reads_the_outbox_paged_with_a_fixed_number_of_queries(app, client, login, make_user,
                                                                        count_queries):
    admin = make_user("admin")
    login(admin)
    queue(10)
    with count_queries() as few:
        assert client.get("/admin/outbox").status_code == 200
    queue(55, start=10)
    refused = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    refused.attempts, refused.last_error = 2, "SMTPRecipientsRefused: 452 4.2.2 Mailbox full"
    refused.next_attempt_at = utcnow() + timedelta(minutes=2)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/admin/outbox")
    html = page.get_data(as_text=True)
    assert many.n == few.n
    assert "ketoan64@caphe64.example.vn" in html and "Giấy mời số 64" in html and "452 4.2.2 Mailbox full" in html
    assert "Giấy mời số 14" not in html  # 50 a page, newest first
    assert "Giấy mời số 14" in client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert "đang chờ" in html  # the state, in the reader's language

    sent = client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert "Giấy mời số" not in sent


def test_an_admin_opens_a_message_and_downloads_it_as_the_server_gets_it(app, client, login, make_user):
    login(make_user("admin"))
    queue(1)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Giấy mời số 0" in page and "Kính mời Quý doanh nghiệp số 0." in page
    raw = client.get(f"/admin/outbox/{message.id}.eml")
    assert raw.mimetype == "message/rfc822"
    assert message_from_bytes(raw.data, policy=policy.default)["Message-ID"] == message.message_id
    assert client.get("/admin/outbox/999999").status_code == 404


def test_the_outbox_is_for_admins_only(app, client, login, make_user, units):
    login(make_user("manager", units["HCM"]))
    assert client.get("/admin/outbox").status_code == 404


@pytest.fixture
def dev_mail(tmp_path):
    folder, port = tmp_path / "mail", free_port()
    controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    yield folder, port
    controller.stop()


def test_make_runs_mail_is_read_at_dev_mail(app, another_app, dev_mail, make_user, make_business, units):
    folder, port = dev_mail
    local = another_app(DEV_MAIL_DIR=str(folder), MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    web = local.test_client()
    # The mail holds every business's answer links: whoever reaches the port must sign in first, as the admin.
    assert web.get("/dev/mail").status_code == 302
    business = make_user("business", business=make_business(units["HCM-A"]))
    assert web.post("/login", data={"email": business.email, "password": PASSWORD}).status_code == 302
    assert web.get("/dev/mail").status_code == 404 and "/dev/mail" not in web.get("/").get_data(as_text=True)
    web.post("/logout")
    admin = make_user("admin", units["TCHQ"])
    assert web.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
    assert "Chưa có thư" in web.get("/dev/mail").get_data(as_text=True)
    with local.app_context():
        services.enqueue(to=["doanhnghiep@dialogue-demo.vn"], subject="Giấy mời: Cà phê doanh nhân tháng 12",
                         text="Kính mời Quý doanh nghiệp dự buổi đối thoại.")
        db.session.commit()
        assert services.send_all().sent == 1
    listing = web.get("/dev/mail").get_data(as_text=True)
    assert "Giấy mời: Cà phê doanh nhân tháng 12" in listing and "doanhnghiep@dialogue-demo.vn" in listing
    key = next(path.name for path in (folder / "new").iterdir())
    opened = web.get(f"/dev/mail/{key}").get_data(as_text=True)
    assert "Kính mời Quý doanh nghiệp dự buổi đối thoại." in opened
    assert web.get(f"/dev/mail/{key}.eml").mimetype == "message/rfc822"
    assert web.get("/dev/mail/no-such-message").status_code == 404


def test_dev_mail_is_not_there_unless_make_run_asks_for_it(client):
    assert client.get("/dev/mail").status_code == 404

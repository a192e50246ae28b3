"""Notifications in the app (issue 14, part 5): who hears of what, the bell, the list, marking read, the API,
and each person's choice per kind (in the app only, a mail at once, the daily digest)."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dialogue_app import officetime, signals, tasks
from dialogue_app.attendance.models import Rsvp
from dialogue_app.attendance.services import check_in, invite_to_meeting
from dialogue_app.extensions import db
from dialogue_app.issues.models import Issue
from dialogue_app.issues.services import create_issue, topic_by_code
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.notifications.models import Notification
from dialogue_app.notifications.services import describe, send_digests
from dialogue_app.org.services import add_contact
from dialogue_app.scheduling import services as scheduling

from ..conftest import PASSWORD


@pytest.fixture
def world(units, topics, make_user, make_business, make_series, make_meeting):
    coffee = make_business(units["HCM-A"], name="Công ty TNHH Cà phê Đà Lạt")
    steel = make_business(units["HCM-A"], name="Công ty Cổ phần Thép Phương Nam")
    add_contact(coffee, name="Trần Thị Ngọc", email="ngoc@caphe.example.vn", position="Giám đốc")
    add_contact(steel, name="Lê Văn Cường", email="cuong@thep.example.vn", position="Trưởng phòng XNK")
    db.session.commit()
    series = make_series(units["HCM-A"], invitees=[coffee])
    return {
        "coffee": coffee, "steel": steel, "series": series,
        "october": make_meeting(series=series, occurrence=date(2025, 10, 27)),
        # A meeting still to come: invitations to one already held are not announced.
        "coming": make_meeting(series=series, occurrence=scheduling.next_occurrence(series).occurrence),
        "organiser": make_user("organiser", units["HCM-A"], email="mai@haiquan.example.vn", name="Nguyễn Thị Mai"),
        "officer": make_user("organiser", units["HCM-A"], email="lan@haiquan.example.vn", name="Phạm Thị Lan"),
        "department": make_user("manager", units["HCM"], email="bao@haiquan.example.vn", name="Trần Quốc Bảo"),
        "other_branch": make_user("organiser", units["QN-A"], email="qn@haiquan.example.vn"),
        "coffee_user": make_user("business", business=coffee, email="tk@caphe.example.vn"),
        "steel_user": make_user("business", business=steel, email="tk@thep.example.vn"),
    }


def mine(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.execute(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)).scalars())


def outbox_to(address: str) -> list[OutboxMessage]:
    return [m for m in db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
            if address in m.recipients]


def raise_issue(caller, business):
    response = caller.post("/api/v1/issues", json={
        "title": "Vướng mắc áp mã HS cho máy rang", "description": "Chi tiết", "business_id": business.id,
        "channel": "zalo", "topic": "tariff", "unit": "HCM-A"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def move(caller, issue_id, **body):
    response = caller.post(f"/api/v1/issues/{issue_id}/transitions", json=body)
    assert response.status_code == 200, response.json
    return response.json


def bell(client) -> str:
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'class="bell"[^>]*>(.*?)</a>', page, re.S)
    assert found, "no bell in the top bar"
    badge = re.search(r'class="badge">(\d+)<', found.group(1))
    return badge.group(1) if badge else "0"


def test_an_issue_s_life_reaches_each_person_concerned_and_never_the_actor(world, api, client, login, runner):
    organiser, officer, department = world["organiser"], world["officer"], world["department"]
    staff = api(organiser)
    issue_id = raise_issue(staff, world["coffee"])
    due = (officetime.today() + timedelta(days=10)).isoformat()

    move(staff, issue_id, to="assigned", assignee=officer.email, due_date=due)
    [assigned] = mine(officer)
    assert assigned.kind == "issue_assigned" and assigned.url == f"/issues/{issue_id}"
    assert mine(organiser) == []  # the one who assigned is not told of their own act
    # By default an assignment comes by mail at once: the issue's own mail, once.
    [assignment_mail] = outbox_to(officer.email)
    assert f"/issues/{issue_id}" in assignment_mail.text_body and outbox_to(organiser.email) == []

    move(api(officer), issue_id, to="escalated", note="Vượt thẩm quyền Chi cục")
    [escalated] = mine(department)
    assert escalated.kind == "issue_escalated"
    # Escalations come by mail at once unless the person chose otherwise: one message, in Vietnamese.
    [mail] = outbox_to(department.email)
    assert "chuyển lên Cục Hải quan TP. Hồ Chí Minh" in mail.text_body and f"/issues/{issue_id}" in mail.text_body
    assert [n.kind for n in mine(officer)] == ["issue_assigned"]  # the one who escalated hears nothing new

    head = api(department)
    move(head, issue_id, to="assigned", assignee=department.email, due_date=due)
    move(head, issue_id, to="in_progress")
    move(head, issue_id, to="answered", resolution="Áp mã 8419.81.10.", legal_basis="Thông tư 31/2022/TT-BTC")
    [answered] = mine(world["coffee_user"])
    assert answered.kind == "issue_answered"
    # The contact is mailed the answer as before; the business's account by its own choice (at once by default).
    assert len(outbox_to("ngoc@caphe.example.vn")) == 1
    [answer_mail] = outbox_to(world["coffee_user"].email)
    assert "Áp mã 8419.81.10." in answer_mail.text_body
    assert mine(world["steel_user"]) == []  # another business never hears of it
    assert [n.kind for n in mine(department)] == ["issue_escalated"]  # assigning oneself tells nobody

    login(world["coffee_user"])
    assert bell(client) == "1"
    listing = client.get("/notifications").get_data(as_text=True)
    assert "Cục Hải quan TP. Hồ Chí Minh đã trả lời vướng mắc" in listing

    rated = api(world["coffee_user"]).post(f"/api/v1/issues/{issue_id}/rating", json={"score": 4})
    assert rated.status_code == 201
    rating = mine(department)[-1]
    assert rating.kind == "issue_rated" and rating.delivery == "digest" and rating.mailed_at is None
    assert [n.kind for n in mine(world["coffee_user"])] == ["issue_answered"]

    # The daily digest gathers what waits for it, once.
    before = len(outbox_to(department.email))
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "1 notification digest(s) queued." in result.output
    digests = outbox_to(department.email)[before:]
    assert len(digests) == 1 and "đánh giá câu trả lời cho vướng mắc" in digests[0].text_body
    assert "4/5" in digests[0].text_body
    assert "0 notification digest(s) queued." in runner.invoke(args=["send-digests"]).output


def test_the_answer_mail_to_the_business_is_all_vietnamese_and_names_the_unit_that_answered(world, api):
    staff, department = api(world["organiser"]), world["department"]
    issue_id = raise_issue(staff, world["coffee"])
    move(staff, issue_id, to="escalated", note="Vượt thẩm quyền")
    head = api(department)
    move(head, issue_id, to="assigned", assignee=department.email,
         due_date=(officetime.today() + timedelta(days=5)).isoformat())
    move(head, issue_id, to="in_progress")
    move(head, issue_id, to="answered", resolution="Áp mã 8419.81.10.")
    [mail] = outbox_to("ngoc@caphe.example.vn")
    assert "Cục Hải quan TP. Hồ Chí Minh đã trả lời" in mail.text_body
    assert "HCM-A" not in mail.text_body and "Chi cục" not in mail.text_body
    assert not re.search(r"\b(You|You can|here|Answer|Issue|the)\b", mail.text_body), mail.text_body


def test_a_business_user_s_top_bar_names_their_company_not_the_branch(world, client, login, units):
    login(world["coffee_user"])
    page = client.get("/").get_data(as_text=True)
    who = re.search(r'class="who"[^>]*>(.*?)</a>', page, re.S).group(1)
    assert "Công ty TNHH Cà phê Đà Lạt" in who and units["HCM-A"].name not in who


def test_invitations_and_changes_reach_the_invited_business_s_users_only(world, app):
    # A meeting still to come (one already held is not announced: there is nothing left to answer).
    meeting, coffee_user, steel_user = world["coming"], world["coffee_user"], world["steel_user"]
    day = meeting.occurrence
    # Scope decides: steel is named but holds no invitation to this meeting, so its user may not open it.
    signals.businesses_invited.send(meeting, business_ids=[world["coffee"].id, world["steel"].id])
    db.session.commit()
    [invited] = mine(coffee_user)
    assert invited.kind == "invited" and invited.url == "/"  # the portal, where it is answered
    assert mine(steel_user) == [] and mine(world["organiser"]) == []

    invite_to_meeting(meeting, world["steel"])  # which announces it (businesses_invited)
    db.session.commit()
    assert [n.kind for n in mine(steel_user)] == ["invited"]

    signals.meeting_changed.send(world["series"], occurrence=day, cancelled=True)
    db.session.commit()
    cancelled = mine(coffee_user)[-1]
    assert cancelled.kind == "meeting_changed"
    # That year's page, its line.
    assert cancelled.url == f"/series/{world['series'].id}?year={day.year}#o-{day.isoformat()}"
    # A change comes by mail at once by default: the series' invited business is told, in Vietnamese.
    [mail] = outbox_to(coffee_user.email)
    assert "bị hủy" in mail.text_body and day.strftime("%d/%m/%Y") in mail.text_body
    # Invited to that occurrence's meeting alone, steel hears of it too, led to its portal (the series is not
    # its to open).
    assert [(n.kind, n.url) for n in mine(steel_user)] == [("invited", "/"), ("meeting_changed", "/")]

    signals.meeting_changed.send(meeting, occurrence=None, cancelled=False)
    db.session.commit()
    assert [n.kind for n in mine(steel_user)] == ["invited", "meeting_changed", "meeting_changed"]

    # Invited to a meeting already held (to record who came), a business is told nothing: nothing to answer.
    signals.businesses_invited.send(world["october"], business_ids=[world["coffee"].id])
    db.session.commit()
    assert [n.kind for n in mine(coffee_user)].count("invited") == 1


def test_an_answer_to_an_invitation_reaches_the_unit_s_organisers(world):
    meeting, contact = world["october"], world["coffee"].contacts[0]
    rsvp = Rsvp(meeting_id=meeting.id, contact=contact, answer="declined", comment="Bận", via="portal")
    db.session.add(rsvp)
    signals.answer_recorded.send(rsvp)
    db.session.commit()
    for organiser in (world["organiser"], world["officer"]):
        [answer] = mine(organiser)
        assert answer.kind == "answer_received" and answer.delivery == "digest"
        assert answer.params["business"] == "Công ty TNHH Cà phê Đà Lạt"
    assert mine(world["other_branch"]) == [] and mine(world["department"]) == []
    assert mine(world["coffee_user"]) == []


def test_sent_minutes_reach_the_business_present_and_the_managers(world, api, make_user, units):
    meeting = world["october"]
    manager = make_user("manager", units["HCM-A"], email="truong@haiquan.example.vn")
    check_in(meeting, world["coffee"].contacts[0])
    db.session.commit()
    staff = api(world["organiser"])
    url = f"/api/v1/meetings/{meeting.id}/minutes"
    staff.put(url, json={"body": "Nội dung", "chair": "Ông Hùng", "secretary": "Bà Trang"})
    staff.post(f"{url}/finalise", json={})
    assert staff.post(f"{url}/send").status_code == 200
    [sent] = mine(world["coffee_user"])
    assert sent.kind == "minutes_sent" and sent.url == f"/meetings/{meeting.id}/minutes.pdf"
    assert [n.url for n in mine(manager)] == [f"/meetings/{meeting.id}/minutes"]
    # Notified in the app: the manager's one mail is the minutes' own, all in Vietnamese.
    [mail] = outbox_to(manager.email)
    assert "Có thể xem biên bản tại đây:" in mail.text_body and "here" not in mail.text_body
    assert mine(world["organiser"]) == [] and mine(world["steel_user"]) == []
    # The business opens what it is led to.
    assert api(world["coffee_user"]).get(sent.url).status_code == 200


def test_overdue_issues_are_told_once(world, make_issue, units, make_user):
    head = make_user("manager", units["HCM-A"], email="truong@haiquan.example.vn")
    issue = make_issue(units["HCM-A"], world["coffee"], world["organiser"])
    row = db.session.get(Issue, issue.id)
    row.status, row.assignee, row.due_date = "assigned", world["officer"], officetime.today() - timedelta(days=1)
    db.session.commit()
    tasks.enqueue("notify-overdue")
    assert [n.kind for n in mine(world["officer"])] == ["issue_overdue"]
    assert [n.kind for n in mine(head)] == ["issue_overdue"]
    tasks.enqueue("notify-overdue")
    assert len(mine(world["officer"])) == 1 and len(mine(head)) == 1
    assert mine(world["coffee_user"]) == []


def test_preferences_decide_between_the_app_a_mail_at_once_and_the_digest(world, client, login, units):
    department = world["department"]
    login(department)
    page = client.get("/account/notifications")
    assert page.status_code == 200 and "Một thư ngay" in page.get_data(as_text=True)
    bad = client.post("/account/notifications", data={"issue_escalated": "pigeon"})
    assert bad.status_code == 422
    saved = client.post("/account/notifications", data={"issue_escalated": "app", "issue_rated": "mail"})
    assert saved.status_code == 302

    signals.issue_event.send(_escalated_issue(world, units), event="escalated", actor=world["organiser"])
    db.session.commit()
    [escalated] = mine(department)
    assert escalated.delivery == "app" and outbox_to(department.email) == []  # in the app only: no mail
    assert client.post("/account/notifications", data={"issue_escalated": "mail"}).status_code == 302
    signals.issue_event.send(_escalated_issue(world, units), event="escalated", actor=world["organiser"])
    db.session.commit()
    assert len(outbox_to(department.email)) == 1  # a mail at once: exactly one
    assert client.post("/account/notifications", data={"issue_escalated": "digest"}).status_code == 302
    for _ in range(2):
        signals.issue_event.send(_escalated_issue(world, units), event="escalated", actor=world["organiser"])
    db.session.commit()
    assert len(outbox_to(department.email)) == 1  # kept for the digest
    assert send_digests() == 1
    db.session.commit()
    digest = outbox_to(department.email)[-1]
    assert digest.text_body.count("/issues/") == 2 and "2 thông báo mới" in digest.subject


def _escalated_issue(world, units):
    issue = create_issue(title="Vướng mắc về thủ tục", business=world["coffee"], channel="phone",
                         topic=topic_by_code("tariff"), unit=units["HCM"], actor=world["organiser"])
    db.session.flush()
    return issue


def test_the_list_marks_read_and_leads_to_each_page(world, client, login):
    meeting, user = world["coming"], world["coffee_user"]
    for _ in range(3):
        signals.businesses_invited.send(meeting, business_ids=[world["coffee"].id])
    db.session.commit()
    first, second, third = mine(user)
    login(user)
    assert bell(client) == "3"
    opened = client.post(f"/notifications/{first.id}/read", data={"open": "1"})
    assert opened.status_code == 302 and opened.headers["Location"] == "/"  # the portal, to answer
    assert meeting.title in client.get(opened.headers["Location"]).get_data(as_text=True)
    assert bell(client) == "2"
    assert client.post(f"/notifications/{second.id}/read").status_code == 302
    assert bell(client) == "1"
    unread = client.get("/notifications?unread=true").get_data(as_text=True)
    assert unread.count('name="open"') == 1
    # Someone else's notification is not found, and stays unread.
    client.post("/logout")
    login(world["steel_user"])
    assert client.post(f"/notifications/{third.id}/read").status_code == 404
    client.post("/logout")
    login(user)
    assert client.post("/notifications/read-all").status_code == 302
    assert bell(client) == "0"


def test_the_api_lists_newest_first_and_marks_read(world, api):
    meeting, user = world["coming"], world["coffee_user"]
    signals.businesses_invited.send(meeting, business_ids=[world["coffee"].id])
    signals.meeting_changed.send(meeting, occurrence=None, cancelled=False)
    db.session.commit()
    caller = api(user)
    listed = caller.get("/api/v1/notifications?unread=true")
    assert listed.status_code == 200 and listed.json["unread"] == 2
    items = listed.json["items"]
    assert [item["kind"] for item in items] == ["meeting_changed", "invited"]
    assert set(items[0]) == {"id", "kind", "text", "url", "created_at", "read_at"}
    assert items[0]["url"] == f"/meetings/{meeting.id}" and items[0]["read_at"] is None
    assert "Cà phê sáng" in items[0]["text"] and re.match(r"\d{4}-\d\d-\d\dT.*\+07:00$", items[0]["created_at"])
    assert caller.post(f"/api/v1/notifications/{items[1]['id']}/read").status_code == 200
    after = caller.get("/api/v1/notifications?unread=true").json
    assert after["unread"] == 1 and [i["kind"] for i in after["items"]] == ["meeting_changed"]
    assert len(caller.get("/api/v1/notifications").json["items"]) == 2
    # A page at a time, as every list of API.md.
    second = caller.get("/api/v1/notifications?page=2&per_page=1").json
    assert [i["kind"] for i in second["items"]] == ["invited"] and (second["total"], second["page"]) == (2, 2)
    assert caller.get("/api/v1/notifications?per_page=500").status_code == 422
    assert api(world["steel_user"]).post(f"/api/v1/notifications/{items[0]['id']}/read").status_code == 404
    assert api(world["steel_user"]).get("/api/v1/notifications").json == {
        "items": [], "unread": 0, "page": 1, "per_page": 50, "total": 0}


def test_the_bell_costs_one_query_whatever_the_count(world, client, login, count_queries):
    user = world["coffee_user"]
    login(user)
    client.get("/")

    def home_queries():
        with count_queries() as counted:
            assert client.get("/").status_code == 200
        return counted.n

    empty = home_queries()
    for _ in range(30):
        signals.businesses_invited.send(world["coming"], business_ids=[world["coffee"].id])
    db.session.commit()
    assert bell(client) == "30"
    assert home_queries() == empty


def test_an_officer_who_wants_assignments_in_the_app_only_gets_no_mail(world, api, client, login):
    officer = world["officer"]
    login(officer)
    assert client.post("/account/notifications", data={"issue_assigned": "app"}).status_code == 302
    staff = api(world["organiser"])
    issue_id = raise_issue(staff, world["coffee"])
    move(staff, issue_id, to="assigned", assignee=officer.email,
         due_date=(officetime.today() + timedelta(days=5)).isoformat())
    assert [n.kind for n in mine(officer)] == ["issue_assigned"] and outbox_to(officer.email) == []
    assert bell(client) == "1"


def test_an_account_that_is_also_an_invited_contact_is_not_mailed_a_change_twice(world, make_user):
    # The calendar mails the invited contacts their update; the account with the contact's address hears of the
    # change in the app, without a second mail. The other account is mailed (its default).
    same = make_user("business", business=world["coffee"], email="ngoc@caphe.example.vn")
    signals.meeting_changed.send(world["series"], occurrence=date(2025, 10, 27), cancelled=False)
    db.session.commit()
    assert [n.kind for n in mine(same)] == ["meeting_changed"] and outbox_to(same.email) == []
    assert len(outbox_to(world["coffee_user"].email)) == 1


def test_one_business_answering_is_one_line_kept_current_and_an_ended_invitation_leaves_no_dead_link(
        world, api, client, login, make_meeting, units):
    coffee, coffee_user, organiser = world["coffee"], world["coffee_user"], world["organiser"]
    add_contact(coffee, name="Lê Minh Tuấn", email="tuan@caphe.example.vn")
    add_contact(coffee, name="Đỗ Thu Hà", email="ha@caphe.example.vn")
    db.session.commit()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    meeting = make_meeting(unit=units["HCM-A"], start=start, title="Hội nghị chuyên đề C/O")
    assert api(organiser).post(f"/api/v1/meetings/{meeting.id}/invitations",
                               json={"business_id": coffee.id}).status_code == 201
    [item] = [i for i in api(coffee_user).get("/api/v1/invitations").json["items"] if i["meeting_id"] == meeting.id]
    # The account matches no contact: its answer is its three contacts' answer. The organisers read one line,
    # which follows the business's change of mind.
    for answer in ("accepted", "tentative"):
        assert api(coffee_user).put(item["answer_url"], json={"answer": answer}).status_code == 200
    for person in (organiser, world["officer"]):
        answers = [n for n in mine(person) if n.kind == "answer_received"]
        assert len(answers) == 1 and answers[0].params["answer"] == "tentative"
        assert answers[0].params["contact"] == coffee_user.name  # who answered, for the company

    assert [n.kind for n in mine(coffee_user) if n.subject == "meeting"] == ["invited"]
    assert api(organiser).delete(f"/api/v1/meetings/{meeting.id}/invitations/{coffee.id}").status_code == 204
    [withdrawn] = [n for n in mine(coffee_user) if n.subject == "meeting"]
    assert withdrawn.kind == "uninvited" and withdrawn.url == "/"
    login(coffee_user)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Lời mời dự “Hội nghị chuyên đề C/O”" in page and "đã được thu hồi" in page


def test_a_business_chooses_only_among_what_concerns_a_business(world, client, login):
    login(world["coffee_user"])
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'name="invited"' in page and 'name="uninvited"' in page
    for staff_only in ("issue_assigned", "issue_escalated", "issue_rated", "issue_overdue", "answer_received"):
        assert staff_only not in page
    staff = client.application.test_client()
    assert staff.post("/login", data={"email": world["organiser"].email, "password": PASSWORD}).status_code == 302
    assert 'name="issue_assigned"' in staff.get("/account/notifications").get_data(as_text=True)


def test_the_sentences_say_when_in_office_time_and_where_a_moved_meeting_now_is(world):
    series, coffee_user = world["series"], world["coffee_user"]  # the last Monday of each month, 08:00 in Hanoi
    signals.businesses_invited.send(series, business_ids=[world["coffee"].id])
    db.session.commit()
    following = scheduling.next_occurrence(series)
    assert following.start > datetime.now(UTC)
    # The series' next meeting, at the hour the office set (its first start is a wall time, not UTC).
    invited = describe(mine(coffee_user)[-1])
    assert f"(08:00 {following.start:%d/%m/%Y})" in invited

    moved_to = datetime.combine(following.occurrence + timedelta(days=1), datetime.min.time().replace(hour=14),
                                tzinfo=officetime.office_zone())
    scheduling.change_occurrence(series, following.occurrence, start=moved_to, location="Phòng 301")
    db.session.commit()
    changed = mine(coffee_user)[-1]
    assert changed.kind == "meeting_changed"
    assert describe(changed).endswith(f"nay họp lúc 14:00 {moved_to:%d/%m/%Y}, tại Phòng 301.")
    assert f"nay họp lúc 14:00 {moved_to:%d/%m/%Y}, tại Phòng 301." in outbox_to(coffee_user.email)[-1].text_body


def test_moved_to_another_branch_a_person_keeps_nothing_told_of_the_old_one(world, api, make_user, units, client,
                                                                               login):
    organiser, officer = world["organiser"], world["officer"]
    issue_id = raise_issue(api(organiser), world["coffee"])
    move(api(organiser), issue_id, to="assigned", assignee=officer.email,
         due_date=(officetime.today() + timedelta(days=10)).isoformat())
    signals.businesses_invited.send(world["coming"], business_ids=[world["coffee"].id])
    db.session.commit()
    assert [n.kind for n in mine(officer)] == ["issue_assigned"]
    assert [n.kind for n in mine(world["coffee_user"])] == ["invited"]

    admin = api(make_user("admin", units["TCHQ"], email="admin@haiquan.example.vn"))
    assert admin.patch(f"/api/v1/users/{officer.id}", json={"unit": "QN-A"}).status_code == 200
    # A new name changes nothing of what one may open, nor of what one was told.
    assert admin.patch(f"/api/v1/users/{world['coffee_user'].id}", json={"name": "Kế toán"}).status_code == 200
    assert [n.kind for n in mine(world["coffee_user"])] == ["invited"]

    # The HCM-A issue's title no longer shows in the list of someone who may not open it.
    assert mine(officer) == []
    login(officer)
    assert bell(client) == "0"
    assert "Vướng mắc áp mã HS" not in client.get("/notifications").get_data(as_text=True)


def test_a_topic_made_sensitive_takes_its_issues_out_of_an_organiser_s_notifications(world, api, make_user, units,
                                                                                      client, login, topics):
    organiser, officer, department = world["organiser"], world["officer"], world["department"]
    issue_id = raise_issue(api(organiser), world["coffee"])
    due = (officetime.today() + timedelta(days=10)).isoformat()
    move(api(organiser), issue_id, to="assigned", assignee=officer.email, due_date=due)
    move(api(officer), issue_id, to="escalated", note="Vượt thẩm quyền")
    assert [n.kind for n in mine(officer)] == ["issue_assigned"]
    assert [n.kind for n in mine(department)] == ["issue_escalated"]

    login(make_user("admin", units["TCHQ"], email="admin@haiquan.example.vn"))
    tariff = topics["tariff"]
    saved = client.post("/admin/topics", data={"code": "tariff", "name": tariff.name, "answer_days": "10",
                                               "sensitive": "1", "active": "1"})
    assert saved.status_code == 302
    assert mine(officer) == []  # an organiser no longer opens the issue, nor reads its title in the list
    assert [n.kind for n in mine(department)] == ["issue_escalated"]  # a manager still does


def test_what_staff_say_to_the_business_on_the_way_reaches_it(world, api):
    organiser, officer = world["organiser"], world["officer"]
    issue_id = raise_issue(api(organiser), world["coffee"])
    due = (officetime.today() + timedelta(days=10)).isoformat()
    move(api(organiser), issue_id, to="assigned", assignee=officer.email, due_date=due)
    assert mine(world["coffee_user"]) == []  # an internal step with nothing said to the business: nothing
    move(api(officer), issue_id, to="in_progress", message="Đề nghị gửi bản chụp hóa đơn thương mại.")

    [told] = mine(world["coffee_user"])
    assert told.kind == "issue_message" and told.url == f"/issues/{issue_id}"
    assert describe(told) == ("Đơn vị HCM-A nhắn về vướng mắc “Vướng mắc áp mã HS cho máy rang”: "
                              "Đề nghị gửi bản chụp hóa đơn thương mại.")
    # The contact (no account) and the account (a mail at once by default) each read it in a mail of their own.
    for address in ("ngoc@caphe.example.vn", world["coffee_user"].email):
        [mail] = [m for m in outbox_to(address) if "Tin nhắn về vướng mắc" in m.subject]
        assert "Đề nghị gửi bản chụp hóa đơn thương mại." in mail.text_body and f"/issues/{issue_id}" in mail.text_body
    assert mine(world["steel_user"]) == []

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from dialogue_app import officetime
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.issues import services
from dialogue_app.issues.models import Issue, IssueEvent
from dialogue_app.issues.workflow import TRANSITIONS, IssueStatus, allowed_targets
from dialogue_app.mail.models import OutboxMessage
from dialogue_app.notifications.models import Notification


@pytest.fixture
def world(units, topics, make_user, make_business, api):
    business = make_business(units["HCM-A"], name="Công ty TNHH Điện tử Sao Việt")
    from dialogue_app.org.services import add_contact

    add_contact(business, name="Trần Thị Ngọc", email="ngoc@saoviet.example.vn")
    db.session.commit()
    officer = make_user("organiser", units["HCM-A"], email="officer@haiquan.example.vn", name="Nguyễn Thị Mai")
    owner = make_user("business", business=business)
    return {
        "business": business, "officer": officer,
        "staff": api(officer),
        "department": api(make_user("manager", units["HCM"])),
        "owner": api(owner),
        "owner_user": owner,
    }


def raise_issue(caller, business, **overrides):
    body = {"title": "Vướng mắc áp mã HS cho linh kiện bán dẫn", "description": "Mô tả chi tiết",
            "business_id": business.id, "channel": "zalo", "topic": "tariff", "unit": "HCM-A"}
    response = caller.post("/api/v1/issues", json={**body, **overrides})
    assert response.status_code == 201, response.json
    return response.json


def move(caller, issue_id, **body):
    return caller.post(f"/api/v1/issues/{issue_id}/transitions", json=body)


def test_the_workflow_table_is_the_contract():
    pairs = {(t.source.value, t.target.value) for t in TRANSITIONS}
    assert ("new", "assigned") in pairs and ("in_progress", "answered") in pairs
    assert ("answered", "in_progress") in pairs and ("answered", "closed") in pairs
    assert {source for source, target in pairs if target == "escalated"} == {"new", "assigned", "in_progress"}
    assert allowed_targets("closed") == []
    assert not any(t.source is IssueStatus.CLOSED for t in TRANSITIONS)


def test_an_issue_from_raised_to_rated(world, smtp_server):
    issue = raise_issue(world["staff"], world["business"])
    assert issue["status"] == "new" and issue["unit"] == "HCM-A" and issue["history"][0]["to"] == "new"
    due = (officetime.today() + timedelta(days=14)).isoformat()
    assigned = move(world["staff"], issue["id"], to="assigned", assignee="OFFICER@haiquan.example.vn", due_date=due)
    assert assigned.status_code == 200 and assigned.json["assignee"] == "officer@haiquan.example.vn"
    assert move(world["staff"], issue["id"], to="in_progress").json["status"] == "in_progress"
    answered = move(world["staff"], issue["id"], to="answered", resolution="Áp mã 8542.31.00.",
                    legal_basis="Thông tư 31/2022/TT-BTC", note="Đã trả lời")
    assert answered.json["status"] == "answered" and answered.json["resolution"] == "Áp mã 8542.31.00."
    history = world["staff"].get(f"/api/v1/issues/{issue['id']}").json["history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "new"), ("new", "assigned"),
                                                       ("assigned", "in_progress"), ("in_progress", "answered")]
    assert history[-1]["by"].startswith("Nguyễn Thị Mai") and history[-1]["note"] == "Đã trả lời"

    # The business (its contact, and its account) was told, through the outbox; the officer who took the issue
    # is not mailed of their own act.
    recipients = [m.recipients for m in db.session.execute(select(OutboxMessage)).scalars()]
    assert ["officer@haiquan.example.vn"] not in recipients
    assert any("ngoc@saoviet.example.vn" in r for r in recipients)
    assert [world["owner_user"].email] in recipients

    assert world["staff"].post(f"/api/v1/issues/{issue['id']}/rating", json={"score": 5}).status_code == 403
    rated = world["owner"].post(f"/api/v1/issues/{issue['id']}/rating", json={"score": 4, "comment": "Rõ ràng"})
    assert rated.status_code == 201
    again = world["owner"].post(f"/api/v1/issues/{issue['id']}/rating", json={"score": 5})
    assert again.status_code == 409
    assert world["owner"].get(f"/api/v1/issues/{issue['id']}").json["rating"] == {"score": 4, "comment": "Rõ ràng"}


def test_forbidden_moves_answer_409_naming_the_allowed_ones(world):
    issue = raise_issue(world["staff"], world["business"])
    refused = move(world["staff"], issue["id"], to="answered", resolution="x")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "conflict"
    # Raised here, not escalated from below: "send back" is not among them (it would be refused in turn).
    assert refused.json["error"]["fields"]["to"] == ["assigned", "escalated"]
    missing = move(world["staff"], issue["id"], to="assigned")
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"assignee", "due_date"}
    assert world["owner"].post(f"/api/v1/issues/{issue['id']}/rating", json={"score": 3}).status_code == 409
    assert len(world["staff"].get(f"/api/v1/issues/{issue['id']}").json["history"]) == 1


def test_a_stale_version_changes_nothing(world):
    issue = raise_issue(world["staff"], world["business"])
    due = (officetime.today() + timedelta(days=5)).isoformat()
    first = move(world["staff"], issue["id"], to="assigned", assignee="officer@haiquan.example.vn", due_date=due,
                 version=issue["version"])
    assert first.status_code == 200
    second = move(world["staff"], issue["id"], to="escalated", note="Vượt thẩm quyền", version=issue["version"])
    assert second.status_code == 409
    etag = first.headers["ETag"]
    stale = world["staff"].post(f"/api/v1/issues/{issue['id']}/transitions", json={"to": "in_progress"},
                                headers={"If-Match": '"issue-0-v0"'})
    assert stale.status_code == 409
    fresh = world["staff"].post(f"/api/v1/issues/{issue['id']}/transitions", json={"to": "in_progress"},
                                headers={"If-Match": etag})
    assert fresh.status_code == 200
    assert db.session.get(Issue, issue["id"]).status == "in_progress"
    # "*" is any current version, as HTTP has it.
    anything = world["staff"].post(f"/api/v1/issues/{issue['id']}/transitions",
                                   json={"to": "answered", "resolution": "Áp mã 8419.81.10."},
                                   headers={"If-Match": "*"})
    assert anything.status_code == 200


def test_escalation_moves_up_and_the_parent_can_send_it_back(world):
    issue = raise_issue(world["staff"], world["business"])
    escalated = move(world["staff"], issue["id"], to="escalated", note="Cần Cục hướng dẫn")
    assert escalated.status_code == 200
    assert escalated.json["status"] == "new" and escalated.json["unit"] == "HCM"
    assert escalated.json["origin_unit"] == "HCM-A"
    # The branch still follows it; the department now handles it.
    assert world["staff"].get(f"/api/v1/issues/{issue['id']}").status_code == 200
    back = move(world["department"], issue["id"], to="returned", note="Chi cục xử lý theo hướng dẫn")
    assert back.status_code == 200 and back.json["unit"] == "HCM-A" and back.json["status"] == "new"
    assert move(world["department"], issue["id"], to="returned", note="x").status_code == 409


def test_overdue_is_computed_and_filterable(world, units):
    late = raise_issue(world["staff"], world["business"], title="Quá hạn")
    raise_issue(world["staff"], world["business"], title="Đúng hạn")
    row = db.session.get(Issue, late["id"])
    row.status, row.due_date = "assigned", officetime.today() - timedelta(days=1)
    db.session.commit()
    listed = world["staff"].get("/api/v1/issues?overdue=true").json
    assert [i["title"] for i in listed["items"]] == ["Quá hạn"] and listed["items"][0]["overdue"] is True
    assert world["staff"].get("/api/v1/issues?overdue=false").json["total"] == 1


def test_officer_conduct_is_for_managers_only_who_handle_it_where_it_stands(world, make_user, units):
    # A business does not file under a sensitive topic (API.md: it lists the others); the branch takes the
    # complaint by phone and files it, then may no longer read it.
    refused = world["owner"].post("/api/v1/issues", json={
        "title": "Thái độ cán bộ", "business_id": world["business"].id, "channel": "web", "topic": "conduct",
        "unit": "HCM-A"})
    assert refused.status_code == 422 and "topic" in refused.json["error"]["fields"]
    assert "conduct" not in [t["code"] for t in world["owner"].get("/api/v1/topics").json["items"]]
    issue = raise_issue(world["staff"], world["business"], topic="conduct", channel="phone", title="Thái độ cán bộ")
    assert world["staff"].get(f"/api/v1/issues/{issue['id']}").status_code == 404
    assert world["department"].get(f"/api/v1/issues/{issue['id']}").status_code == 200
    assert world["owner"].get(f"/api/v1/issues/{issue['id']}").status_code == 200
    # The branch has no manager: the Department's, who reads it, hears of it and handles it at the branch.
    manager = db.session.execute(select(User).where(User.role == "manager")).scalar_one()
    told = db.session.execute(select(Notification).where(Notification.kind == "issue_raised")).scalars().all()
    assert [n.user_id for n in told] == [manager.id]
    due = (officetime.today() + timedelta(days=10)).isoformat()
    # Not to the branch's organiser, who may not open it (nor to a Department organiser, who only follows).
    for officer in (world["officer"], make_user("organiser", units["HCM"])):
        refused = move(world["department"], issue["id"], to="assigned", assignee=officer.email, due_date=due)
        assert refused.status_code == 422 and "assignee" in refused.json["error"]["fields"]
    assert move(world["department"], issue["id"], to="assigned", assignee=manager.email,
                due_date=due).status_code == 200
    answered = move(world["department"], issue["id"], to="in_progress")
    assert answered.status_code == 200
    answered = move(world["department"], issue["id"], to="answered", resolution="Đã nhắc nhở cán bộ.")
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    # An ordinary issue of the branch stays the branch's: the Department reads it, and may not assign it.
    ordinary = raise_issue(world["staff"], world["business"])
    assert move(world["department"], ordinary["id"], to="assigned", assignee=manager.email,
                due_date=due).status_code == 409


def test_businesses_raise_their_own_issues_online_only(world, make_business, units):
    other = make_business(units["HCM-A"], name="Công ty khác")
    refused = world["owner"].post("/api/v1/issues", json={
        "title": "x", "business_id": other.id, "channel": "web", "topic": "it", "unit": "HCM-A"})
    assert refused.status_code == 422
    by_phone = world["owner"].post("/api/v1/issues", json={
        "title": "x", "business_id": world["business"].id, "channel": "phone", "topic": "it", "unit": "HCM-A"})
    assert by_phone.status_code == 422
    assert world["owner"].post(f"/api/v1/issues/{raise_issue(world['staff'], other)['id']}/rating",
                               json={"score": 5}).status_code == 404


def test_due_dates_count_working_days(app, topics):
    # Friday 24/04/2026 + 3 working days: Mon 27 (substitute day off), Thu 30/04 and Fri 01/05 are holidays,
    # so Tue 28, Wed 29 and Mon 04/05.
    topics["it"].answer_days = 3
    assert services.default_due_date(topics["it"], date(2026, 4, 24)) == date(2026, 5, 4)


def test_digests_reach_assignees_and_unit_heads(world, make_user, units):
    head = make_user("manager", units["HCM-A"], email="truong@haiquan.example.vn")
    late = raise_issue(world["staff"], world["business"])
    row = db.session.get(Issue, late["id"])
    row.status, row.assignee, row.due_date = "assigned", world["officer"], officetime.today() - timedelta(days=2)
    db.session.commit()
    db.session.execute(OutboxMessage.__table__.delete())
    assert services.queue_digests() == 2
    db.session.commit()
    digests = {m.recipients[0]: m for m in db.session.execute(select(OutboxMessage)).scalars()}
    assert set(digests) == {"officer@haiquan.example.vn", head.email}
    assert "Vướng mắc áp mã HS" in digests[head.email].text_body


def test_history_is_append_only_and_kept_with_every_move(world):
    issue = raise_issue(world["staff"], world["business"])
    move(world["staff"], issue["id"], to="escalated", note="Lên Cục")
    assert db.session.execute(select(func.count()).select_from(IssueEvent)).scalar_one() == 2


def test_ratings_roll_up_per_unit_and_officer(world, client, login):
    for score in (5, 3):
        issue = raise_issue(world["staff"], world["business"])
        due = (officetime.today() + timedelta(days=3)).isoformat()
        move(world["staff"], issue["id"], to="assigned", assignee="officer@haiquan.example.vn", due_date=due)
        move(world["staff"], issue["id"], to="in_progress")
        move(world["staff"], issue["id"], to="answered", resolution="Trả lời")
        world["owner"].post(f"/api/v1/issues/{issue['id']}/rating", json={"score": score})
    rollup = services.rating_rollup(world["officer"])
    assert [(name, count, float(avg)) for name, count, avg in rollup["officers"]] == [("Nguyễn Thị Mai", 2, 4.0)]
    assert [(count, float(avg)) for _, count, avg in rollup["units"]] == [(2, 4.0)]
    login(world["officer"])
    assert "Nguyễn Thị Mai" in client.get("/issues/ratings").get_data(as_text=True)

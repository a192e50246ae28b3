"""Reports for managers: the figures of a unit and the units below it, the branch ranking, the PDF, the
exports, the plans and the waiting-room screen."""

import csv
import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pytest
from pypdf import PdfReader

from dialogue_app.attendance.models import Attendee
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.issues.models import Issue, Rating, Topic
from dialogue_app.org.models import Interaction
from dialogue_app.reports import charts, index
from dialogue_app.reports.models import DisplayScreen, UnitPlan
from dialogue_app.reports.periods import Period, PeriodKind, parse_period
from dialogue_app.reports.services import median_of_counts
from dialogue_app.scheduling import services as scheduling

Q3 = "period=quarter&year=2026&n=3"


def at(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def world(app, units, topics, make_business, make_user, make_meeting, make_issue):
    """Quarter III/2026 in two branches of HCM: HCM-A answers on time and is rated well, HCM-B is late."""
    topic = db.session.execute(db.select(Topic).order_by(Topic.id)).scalars().first()
    a, b = units["HCM-A"], units["HCM-B"]
    biz_a, biz_b = make_business(a, name="Công ty A"), make_business(b, name="Công ty B")
    officer = make_user("organiser", a)
    rater = make_user("business", business=biz_a)

    def issue(unit, business, raised: date, *, answered: date | None = None, due: date | None = None,
              rating: int | None = None, channel="phone"):
        item = make_issue(unit, business, officer, "Vướng mắc", channel=channel, topic=topic)
        item.created_at = at(raised)
        item.due_date = due
        item.status = "in_progress"
        db.session.flush()
        if answered:
            item.status = "answered"
            issue_services.record_answer_time(item, at(answered))
        if rating:
            db.session.add(Rating(issue_id=item.id, score=rating, unit_id=unit.id, by_id=rater.id))
        return item

    # HCM-A: two answered within 3 working days, by the due date, rated 5 and 4.
    issue(a, biz_a, date(2026, 7, 6), answered=date(2026, 7, 9), due=date(2026, 7, 20), rating=5)
    issue(a, biz_a, date(2026, 8, 3), answered=date(2026, 8, 6), due=date(2026, 8, 17), rating=4, channel="zalo")
    # HCM-B: one answered late (after its due date), one still open and overdue.
    issue(b, biz_b, date(2026, 7, 6), answered=date(2026, 7, 31), due=date(2026, 7, 10), rating=2)
    issue(b, biz_b, date(2026, 9, 1), due=date(2026, 9, 15))
    # Before the quarter (counts for Q2 only), and an instant that is 1 July in Vietnam but 30 June in UTC.
    issue(a, biz_a, date(2026, 5, 4), answered=date(2026, 5, 5), due=date(2026, 5, 10))
    late_night = issue(a, biz_a, date(2026, 6, 30))
    late_night.created_at = datetime(2026, 6, 30, 18, 30, tzinfo=UTC)  # 01:30 on 1 July in Hồ Chí Minh City
    # A dialogue held at HCM-A with Công ty A present, one cancelled, and a visit to Công ty B by HCM-B.
    held = make_meeting(unit=a, start=at(date(2026, 7, 27), 1))
    db.session.add(Attendee(meeting=held, business_id=biz_a.id, name="Bà Lan", attendance="present"))
    cancelled = make_meeting(unit=a, start=at(date(2026, 8, 31), 1))
    cancelled.status = "cancelled"
    db.session.add(Interaction(business_id=biz_b.id, unit_id=b.id, channel="visit", happened_on=date(2026, 8, 12),
                               summary="Thăm doanh nghiệp"))
    db.session.add_all([UnitPlan(unit_id=a.id, year=2026, dialogues=12, businesses=8),
                        UnitPlan(unit_id=b.id, year=2026, dialogues=4, businesses=4)])
    db.session.commit()
    return {"A": a, "B": b, "HCM": units["HCM"], "TCHQ": units["TCHQ"], "held": held, "topic": topic}


def tile(html: str, label: str) -> str:
    """The big figure of a dashboard tile, by the words under it."""
    match = re.search(r"<strong>([^<]*)</strong>\s*" + re.escape(label), html)
    assert match, label
    return match.group(1)


def test_dashboard_figures_for_a_department(client, login, make_user, world):
    login(make_user("manager", world["HCM"]))
    html = client.get(f"/reports?unit=HCM&{Q3}").get_data(as_text=True)
    assert tile(html, "vướng mắc được tiếp nhận") == "5"  # four in the quarter, plus 1 July local time
    assert tile(html, "đã trả lời") == "3"
    assert tile(html, "quá hạn") == "1"
    assert tile(html, "trả lời đúng hạn") == "66,7 %"
    assert tile(html, "ngày làm việc trả lời (trung vị)") == "3,0"
    assert tile(html, "buổi đối thoại đã tổ chức") == "1"  # the cancelled one is not counted
    assert tile(html, "doanh nghiệp đã tiếp xúc") == "2"  # A attended and raised; B raised and was visited
    assert "kế hoạch 4" in html  # (12 + 4) dialogues a year for the branches: a quarter of it
    assert "3,67" in html  # (5 + 4 + 2) / 3
    # Every figure leads to the list behind it, and that list agrees.
    link = re.search(r'href="(/issues\?[^"]*overdue=1[^"]*)"', html).group(1).replace("&amp;", "&")
    listed = client.get(link).get_data(as_text=True)
    assert listed.count('<tr class="overdue">') == 1


def test_month_by_month_is_by_local_date(client, login, make_user, world):
    login(make_user("manager", world["HCM"]))
    rows = list(csv.reader(io.StringIO(client.get(f"/reports/months.csv?unit=HCM&{Q3}").data.decode("utf-8-sig"))))
    assert rows[1:] == [["07/2026", "3", "2", "0"], ["08/2026", "1", "1", "0"], ["09/2026", "1", "0", "1"]]


def test_scope_limits_the_reports(client, login, make_user, world):
    login(make_user("organiser", world["A"]))  # an organiser reads the report of their own unit, and only it
    assert client.get(f"/reports?unit=HCM-A&{Q3}").status_code == 200
    assert client.get(f"/reports?{Q3}").status_code == 200
    assert client.get(f"/reports?unit=HCM&{Q3}").status_code == 404
    assert client.get(f"/reports?unit=HCM-B&{Q3}").status_code == 404
    assert client.get(f"/reports/ranking?unit=HCM&{Q3}").status_code == 404
    assert client.get("/reports/plans").status_code == 404  # setting plans stays with the managers
    client.post("/logout")
    login(make_user("organiser", world["HCM"]))  # at a Department: its own report, not a branch's
    assert client.get(f"/reports?unit=HCM&{Q3}").status_code == 200
    assert client.get(f"/reports?unit=HCM-A&{Q3}").status_code == 404
    client.post("/logout")
    login(make_user("manager", world["A"]))
    assert client.get(f"/reports?unit=HCM-B&{Q3}").status_code == 404
    assert client.get(f"/reports?unit=HCM-A&{Q3}").status_code == 200
    assert client.get("/reports?period=quarter&year=1999").status_code == 404
    assert client.get("/reports?period=fortnight").status_code == 404


def test_reports_follow_changes(client, login, make_user, world):
    """Snapshots are refreshed when what they count changes: answering an issue shows at once."""
    login(make_user("manager", world["HCM"]))
    assert tile(client.get(f"/reports?unit=HCM&{Q3}").get_data(as_text=True), "đã trả lời") == "3"
    late = db.session.execute(db.select(Issue).where(Issue.status == "in_progress", Issue.due_date.is_not(None))
                              ).scalars().first()
    late.status = "answered"
    issue_services.record_answer_time(late, at(date(2026, 9, 20)))
    db.session.commit()
    html = client.get(f"/reports?unit=HCM&{Q3}").get_data(as_text=True)
    assert tile(html, "đã trả lời") == "4" and tile(html, "quá hạn") == "0"


def test_ranking_shows_formula_order_and_change(client, login, make_user, world):
    login(make_user("manager", world["TCHQ"]))
    html = client.get(f"/reports/ranking?{Q3}").get_data(as_text=True)
    assert "Trọng số" in html or "trọng số" in html
    order = [name for name in re.findall(r'<a href="/reports\?[^"]*unit=([A-Z-]+)"', html) if name.startswith("HCM-")]
    assert order[:2] == ["HCM-A", "HCM-B"]
    rows = list(csv.reader(io.StringIO(client.get(f"/reports/ranking.csv?{Q3}").data.decode("utf-8-sig"))))
    by_code = {row[1]: row for row in rows[1:]}
    assert by_code["HCM-A"][0] == "1" and by_code["HCM-B"][0] == "2"
    # HCM-A in Q2 answered its one issue on time and fast, but held nothing: its index grew in Q3.
    assert float(by_code["HCM-A"][10]) > 0


def test_report_pdf_carries_the_figures_and_charts(client, login, make_user, world):
    login(make_user("manager", world["HCM"]))
    response = client.get(f"/reports/report.pdf?unit=HCM&{Q3}")
    assert response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "BÁO CÁO" in text and "Quý III/2026" in text
    assert "07/2026" in text  # the month chart's and table's labels
    assert "XẾP HẠNG CÁC CHI CỤC" in text
    assert "Đơn vị HCM-A" in text
    assert "TP. Hồ Chí Minh, ngày" in text  # the place before the date, as Nghị định 30/2020 writes it


def test_exports_match_the_page(client, login, make_user, world):
    login(make_user("manager", world["HCM"]))
    rows = list(csv.reader(io.StringIO(client.get(f"/reports/units.csv?unit=HCM&{Q3}").data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã đơn vị", "Đơn vị", "Vướng mắc tiếp nhận"]
    assert [r[:5] for r in rows[1:]] == [["HCM-A", "Đơn vị HCM-A", "3", "2", "0"],
                                          ["HCM-B", "Đơn vị HCM-B", "2", "1", "1"],
                                          ["HCM", "Tổng cộng", "5", "3", "1"]]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/topics.xlsx?unit=HCM&{Q3}").data)).active
    assert sheet.cell(2, 1).value == world["topic"].name and sheet.cell(2, 2).value == 5


def test_pages_run_a_fixed_number_of_queries(client, login, make_user, world, make_unit, make_business,
                                             count_queries):
    login(make_user("manager", world["TCHQ"]))
    counts = []
    for _ in range(2):
        for path in (f"/reports?{Q3}", f"/reports/ranking?{Q3}"):
            client.get(path)  # brings the snapshots up to date with the data just added
            with count_queries() as counted:
                assert client.get(path).status_code == 200
            counts.append(counted.n)
        # More branches, businesses and issues: the same statements.
        branch = make_unit(f"HCM-{len(counts)}", "branch", world["HCM"])
        business = make_business(branch)
        for day in (7, 8, 9):
            issue_services.create_issue(title="Thêm", business=business, channel="web", topic=world["topic"],
                                        unit=branch, actor=None).created_at = at(date(2026, 8, day))
        db.session.commit()
    assert counts[:2] == counts[2:]


def test_plans_are_saved_or_refused_whole(client, login, make_user, world):
    login(make_user("manager", world["HCM"]))
    a, b = world["A"], world["B"]
    refused = client.post("/reports/plans", data={"unit": "HCM", "year": 2027, f"dialogues-{a.id}": "12",
                                                 f"businesses-{a.id}": "40", f"dialogues-{b.id}": "mười"})
    assert refused.status_code == 422 and "số nguyên" in refused.get_data(as_text=True)
    assert db.session.execute(db.select(UnitPlan).where(UnitPlan.year == 2027)).first() is None
    saved = client.post("/reports/plans", data={"unit": "HCM", "year": 2027, f"dialogues-{a.id}": "12",
                                               f"businesses-{a.id}": "40"})
    assert saved.status_code == 302
    plan = db.session.execute(db.select(UnitPlan).where(UnitPlan.year == 2027)).scalar_one()
    assert (plan.unit_id, plan.dialogues, plan.businesses) == (a.id, 12, 40)


def test_waiting_room_screen(client, login, make_user, world, app):
    manager = make_user("manager", world["HCM"])
    login(manager)
    scheduling.create_series(title="Cà phê sáng cùng doanh nghiệp", unit=world["A"], location="Phòng họp tầng 2",
                             rule="FREQ=WEEKLY;BYDAY=MO", first_start=datetime(2026, 1, 5, 8, 0),
                             duration_minutes=60, notify=False)
    answered = db.session.execute(db.select(Issue).where(Issue.answered_at.is_not(None))).scalars().first()
    issue_services.publish(answered, actor=manager, question="Hỏi về thủ tục <b>C/O</b>?", answer="Trả lời rõ ràng.")
    db.session.commit()
    created = client.post("/reports/screens", data={"name": "Phòng chờ tầng 1", "unit": "HCM"})
    link = re.search(r'<code class="copyable">([^<]+)</code>', created.get_data(as_text=True)).group(1)
    client.post("/logout")
    screen = client.get(link.replace("http://localhost", ""))
    html = screen.get_data(as_text=True)
    assert screen.status_code == 200 and 'http-equiv="refresh"' in html
    assert "Cà phê sáng cùng doanh nghiệp" in html and "Phòng họp tầng 2" in html
    assert "Hỏi về thủ tục &lt;b&gt;C/O&lt;/b&gt;?" in html and "Công ty" not in html
    db.session.execute(db.update(DisplayScreen).values(revoked=True))
    db.session.commit()
    assert client.get(link.replace("http://localhost", "")).status_code == 404
    assert client.get("/display/not-a-token").status_code == 404


def test_periods():
    q1 = Period(PeriodKind.QUARTER, 2026, 1)
    assert (q1.start, q1.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert q1.previous() == Period(PeriodKind.QUARTER, 2025, 4)
    assert Period(PeriodKind.MONTH, 2026, 12).end == date(2027, 1, 1)
    assert parse_period({}, date(2026, 11, 22)) == Period(PeriodKind.QUARTER, 2026, 4)
    for bad in ({"period": "week"}, {"year": "x"}, {"period": "month", "year": "2026", "n": "13"}):
        with pytest.raises(ValueError):
            parse_period(bad, date(2026, 11, 22))


def test_index_leaves_out_what_cannot_be_measured():
    full = index.score(index.Measures(answered=10, on_time=10, workdays_total=0, rated=2, rating_total=10,
                                      dialogues=3, dialogues_target=3, engaged=5, engaged_target=4))
    assert full.index == pytest.approx(100)
    # Nothing rated and no plan: the index is the on-time and speed scores, weighted 30:20.
    partial = index.score(index.Measures(answered=4, on_time=2, workdays_total=40))
    assert partial.parts["rating"] is None and partial.index == pytest.approx((30 * 50 + 20 * 50) / 50)
    assert index.score(index.Measures()).index is None
    assert index.rank({1: full, 2: partial, 3: index.Score(None), 4: full}) == {1: 1, 4: 1, 2: 3}


def test_median_of_counts():
    assert median_of_counts({}) is None
    assert median_of_counts({3: 1}) == 3
    assert median_of_counts({1: 1, 5: 1}) == 3
    assert median_of_counts({1: 2, 2: 1, 9: 1}) == 1.5


def test_charts_escape_their_labels():
    svg = charts.bar_chart("<script>", [("<img src=x onerror=alert(1)>", 3)])
    assert "<script>" not in svg and "<img" not in svg and "&lt;img" in svg
    columns = charts.column_chart("Tháng", ["01/2026", "02/2026"], [("Tiếp nhận", [0, 0])])
    assert columns.count("<rect") == 3  # two empty columns and the legend, no division by zero


def test_refresh_command_clears_what_changed(runner, world):
    from dialogue_app.reports.models import ReportDirtyMonth, ReportSnapshot

    assert db.session.execute(db.select(ReportDirtyMonth.month)).scalars().all()  # the fixture's changes
    result = runner.invoke(args=["refresh-reports"])
    assert result.exit_code == 0 and "period(s) refreshed" in result.output
    assert db.session.execute(db.select(ReportDirtyMonth)).first() is None
    q3 = db.session.execute(db.select(ReportSnapshot).where(
        ReportSnapshot.kind == "quarter", ReportSnapshot.year == 2026, ReportSnapshot.number == 3,
        ReportSnapshot.unit_id == world["A"].id)).scalar_one()
    assert (q3.figures["raised"], q3.figures["answered"], q3.figures["held"]) == (3, 2, 1)


def test_bar_labels_are_whole_words_and_tell_the_bars_apart():
    """Two branches whose names share their first 29 characters got one cut-off label between them."""
    rows = [("Chi cục Hải quan cửa khẩu cảng Cái Lân Quảng Ninh", 80.5),
            ("Chi cục Hải quan cửa khẩu cảng Hòn Gai", 72.0),
            ("Chi cục Hải quan cửa khẩu quốc tế Móng Cái và các điểm thông quan biên giới", 60.0)]
    svg = str(charts.bar_chart("Chỉ số xếp hạng", rows))
    shown = [" ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text))
             for text in re.findall(r'<text text-anchor="end"[^>]*>(.*?)</text>', svg)]
    assert len(set(shown)) == 3, shown  # each bar its own label
    assert all("Chi cục Hải quan" not in label for label in shown)  # the words all share are left out
    assert shown[1] == "Cảng Hòn Gai"  # told apart by what differs, capitalised
    words = set(" ".join(label for label, _ in rows).split())
    for label in shown:
        assert all(word.rstrip("…") in words | {"Cảng", "Quốc"} for word in label.split()), label  # no word cut in two
    assert all(f"<title>{label}:" in svg for label, _ in rows)  # the whole name on each bar


def test_an_organisers_report_counts_only_the_issues_they_may_open(client, login, make_user, make_issue, world):
    # Two complaints about an officer's conduct at HCM-A (a sensitive topic: managers only), one answered, one
    # overdue: its manager counts them, its organiser (who cannot open them) does not learn of them from a report.
    conduct = db.session.execute(db.select(Topic).where(Topic.sensitive)).scalars().first()
    business = db.session.execute(db.select(Issue)).scalars().first().business
    officer = make_user("organiser", world["A"])
    for answered in (True, False):
        item = make_issue(world["A"], business, officer, "Thái độ công chức", channel="phone", topic=conduct)
        item.created_at, item.due_date, item.status = at(date(2026, 7, 8)), date(2026, 7, 20), "in_progress"
        db.session.flush()
        if answered:
            item.status = "answered"
            issue_services.record_answer_time(item, at(date(2026, 7, 10)))
            db.session.add(Rating(issue_id=item.id, score=1, unit_id=world["A"].id, by_id=officer.id))
    db.session.commit()

    def rows(table: str) -> dict[str, list[str]]:
        data = client.get(f"/reports/{table}.csv?unit=HCM-A&{Q3}").data.decode("utf-8-sig")
        return {row[0]: row[1:] for row in list(csv.reader(io.StringIO(data)))[1:]}  # under the header

    login(make_user("manager", world["A"]))
    assert rows("units")["HCM-A"][1:4] == ["5", "3", "1"]  # received, answered, overdue
    assert rows("topics")[conduct.name][:3] == ["2", "1", "1"]
    client.post("/logout")
    login(officer)
    assert rows("units")["HCM-A"][1:4] == ["3", "2", "0"]  # what the organiser's issue list shows them
    assert conduct.name not in rows("topics")
    assert sum(int(row[0]) for row in rows("channels").values()) == 3
    page = client.get(f"/reports?unit=HCM-A&{Q3}").get_data(as_text=True)
    assert conduct.name not in page
    # Nor do the ratings page, or the businesses engaged, tell of a conduct complaint.
    ratings = client.get("/issues/ratings").get_data(as_text=True)
    assert re.search(r"Đơn vị HCM-A</td><td class=\"num\">2</td>", ratings)  # the two rated, not the third

    # A topic made sensitive later: the snapshots are computed again, the organiser's counts follow.
    world["topic"].sensitive = True
    db.session.commit()
    assert rows("units")["HCM-A"][1:4] == ["0", "0", "0"]

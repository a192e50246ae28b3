"""Search (issue 16): Vietnamese as people type it, over everything a person may open, kept current by every
write, on SQLite's FTS5 and PostgreSQL's full-text search alike (this file runs on both: `make test`,
`make test-postgres`, and the expected results below are the same for both)."""

import csv
import functools
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from dialogue_app import officetime
from dialogue_app.demo import national as demo_national
from dialogue_app.extensions import db
from dialogue_app.i18n import local_date
from dialogue_app.imports import services as import_services
from dialogue_app.issues import services as issue_services
from dialogue_app.issues.models import Issue
from dialogue_app.minutes import services as minutes_services
from dialogue_app.org import services as org_services
from dialogue_app.org.models import Contact
from dialogue_app.scheduling import services as scheduling_services
from dialogue_app.search import index
from dialogue_app.search import services as search_services
from dialogue_app.search.models import SearchDocument
from dialogue_app.search.text import highlight, matches, parse, words

from ..conftest import valid_tax_code

FIRST_MONDAY = datetime(2026, 1, 26, 8, 0)


@pytest.fixture
def world(units, topics, make_user, make_business):
    """Two branches of one department, a business in each, issues (one on a sensitive topic), a series with a
    meeting and its minutes, and the people who look."""
    branch, other = units["HCM-A"], units["HCM-B"]
    cafe = make_business(branch, name="Công ty TNHH Cà phê Đà Lạt", tax_code=valid_tax_code())
    steel = make_business(other, name="Công ty CP Thép Đông Á", tax_code=valid_tax_code())
    contact = org_services.add_contact(cafe, name="Nguyễn Thị Hằng", email="hang.nguyen@caphe.vn",
                                       phone="0912345678", position="Kế toán trưởng")
    organiser = make_user("organiser", branch, name="Cán bộ Chi cục A")
    people = {
        "organiser": organiser,
        "other_branch": make_user("organiser", other),
        "manager": make_user("manager", branch),
        "department": make_user("organiser", units["HCM"]),
        "admin": make_user("admin"),
        "business": make_user("business", business=cafe),
    }
    refund = issue_services.create_issue(
        title="Hồ sơ hoàn thuế nguyên liệu cà phê nhân chậm giải quyết", business=cafe, channel="phone",
        topic=topics["refund"], unit=branch, actor=organiser,
        description="Hồ sơ hoàn thuế nộp từ tháng trước chưa có kết quả.")
    origin = issue_services.create_issue(
        title="C/O mẫu D có sai sót nhỏ", business=cafe, channel="email", topic=topics["origin"], unit=branch,
        actor=organiser, description="Đề nghị hướng dẫn việc hoàn thuế khi C/O mẫu D nộp bổ sung.")
    conduct = issue_services.create_issue(
        title="Phản ánh thái độ công chức khi hoàn thuế", business=cafe, channel="counter",
        topic=topics["conduct"], unit=branch, actor=organiser)
    elsewhere = issue_services.create_issue(
        title="Hoàn thuế thép nhập khẩu", business=steel, channel="phone", topic=topics["refund"], unit=other,
        actor=people["other_branch"])
    series = scheduling_services.create_series(
        title="Cà phê sáng cùng doanh nghiệp", unit=branch, location="Hội trường Chi cục Đà Lạt",
        rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=FIRST_MONDAY, duration_minutes=120, invitees=[cafe],
        notify=False)
    meeting, _ = scheduling_services.meeting_for(series, FIRST_MONDAY.date())
    minutes_services.save_minutes(meeting, actor=organiser, body="Doanh nghiệp hỏi về thủ tục hoàn thuế GTGT.",
                                  conclusions="Chi cục hướng dẫn hồ sơ hoàn thuế trong tuần.",
                                  chair="Trần Văn Bình, Chi cục trưởng", secretary="Lê Thị Cúc, Công chức")
    db.session.commit()
    return {"people": people, "cafe": cafe, "steel": steel, "contact": contact, "refund": refund,
            "origin": origin, "conduct": conduct, "elsewhere": elsewhere, "series": series, "meeting": meeting,
            "units": units, "topics": topics}


def found(api_caller, q, **params) -> list[tuple[str, int]]:
    response = api_caller.get("/api/v1/search", query_string={"q": q, "per_page": 200, **params})
    assert response.status_code == 200, response.json
    return [(item["type"], item["id"]) for item in response.json["items"]]


def ids_of(pairs, kind):
    return [ident for k, ident in pairs if k == kind]


# -- Vietnamese as people type it ------------------------------------------------------------------------

def test_accents_case_word_order_and_prefixes_find_the_same(world, api):
    caller = api(world["people"]["organiser"])
    expected = found(caller, "hoàn thuế")
    # The title that holds both words first; an organiser does not see the sensitive one.
    assert ids_of(expected, "issue") == [world["refund"].id, world["origin"].id]
    for typed in ("hoan thue", "HOÀN THUẾ", "Hoàn Thuế", "thuế hoàn", "hoan thu", "HOAN  THUE!"):
        assert found(caller, typed) == expected, typed
    # đ is folded with d, whatever the case.
    assert ("business", world["cafe"].id) in found(caller, "da lat")
    assert found(caller, "ĐÀ LẠT") == found(caller, "đà lạt") == found(caller, "da lat")


def test_ranking_titles_holding_every_word_first_then_newest(world, api):
    caller = api(world["people"]["manager"])
    issues = ids_of(found(caller, "hoan thue", type="issue"), "issue")
    # The refund and the conduct issue say it in their title (newest first); the C/O issue only in its text.
    assert issues == [world["conduct"].id, world["refund"].id, world["origin"].id]


def test_every_kind_is_found_by_what_people_remember(world, api):
    caller = api(world["people"]["organiser"])
    cafe, contact = world["cafe"], world["contact"]
    assert ("business", cafe.id) in found(caller, cafe.tax_code)
    assert ("business", cafe.id) in found(caller, cafe.tax_code[:6])  # a tax code as it is being typed
    assert ("contact", contact.id) in found(caller, "hang.nguyen@caphe.vn")
    assert ("contact", contact.id) in found(caller, "0912345678")
    assert ("contact", contact.id) in found(caller, "ke toan")
    assert ("series", world["series"].id) in found(caller, "ca phe sang")
    assert ("meeting", world["meeting"].id) in found(caller, "hoi truong da lat")
    assert ("minutes", world["meeting"].id) in found(caller, "GTGT")
    assert ("minutes", world["meeting"].id) in found(caller, "huong dan trong tuan")
    # An issue by its business's name and tax code, its answer and legal basis.
    assert ("issue", world["origin"].id) in found(caller, "ca phe da lat mau d")
    assert ("issue", world["refund"].id) in found(caller, cafe.tax_code)


def test_one_letter_words_match_whole_words_only(world, api):
    caller = api(world["people"]["organiser"])
    assert ids_of(found(caller, "C/O mẫu D"), "issue") == [world["origin"].id]
    assert ids_of(found(caller, "mau d"), "issue") == [world["origin"].id]  # not every word beginning with d


# -- Scope -----------------------------------------------------------------------------------------------

def test_nobody_finds_or_counts_what_they_may_not_open(world, api, client, login):
    people, q = world["people"], "hoan thue"
    organiser = found(api(people["organiser"]), q, type="issue")
    assert set(ids_of(organiser, "issue")) == {world["refund"].id, world["origin"].id}  # no conduct, no other branch
    manager = found(api(people["manager"]), q, type="issue")
    assert set(ids_of(manager, "issue")) == {world["refund"].id, world["origin"].id, world["conduct"].id}
    department = found(api(people["department"]), q, type="issue")
    assert set(ids_of(department, "issue")) == {world["refund"].id, world["origin"].id, world["elsewhere"].id}
    assert set(ids_of(found(api(people["admin"]), q, type="issue"), "issue")) == {
        world["refund"].id, world["origin"].id, world["conduct"].id, world["elsewhere"].id}
    other = api(people["other_branch"])
    assert ids_of(found(other, q, type="issue"), "issue") == [world["elsewhere"].id]
    assert found(other, "ca phe da lat") == []

    response = api(people["organiser"]).get("/api/v1/search", query_string={"q": q, "type": "issue"})
    assert response.json["total"] == 2  # counted as shown
    login(people["organiser"])
    page = client.get("/search", query_string={"q": "thái độ"}).get_data(as_text=True)
    assert "Phản ánh thái độ" not in page and "Không tìm thấy" in page


def test_a_business_finds_its_own_issues_its_meetings_and_final_minutes_only(world, api):
    caller = api(world["people"]["business"])
    mine = found(caller, "hoan thue")
    assert set(ids_of(mine, "issue")) == {world["refund"].id, world["origin"].id, world["conduct"].id}
    assert ids_of(mine, "minutes") == []  # a draft
    assert found(caller, "ca phe da lat", type="business") == [] and found(caller, "hang") == []
    assert ("series", world["series"].id) in found(caller, "ca phe sang")
    assert ("meeting", world["meeting"].id) in found(caller, "hoi truong")
    minutes_services.finalise_minutes(world["meeting"], actor=world["people"]["organiser"])
    db.session.commit()
    hit = [item for item in caller.get("/api/v1/search", query_string={"q": "GTGT"}).json["items"]]
    assert [(h["type"], h["url"]) for h in hit] == [("minutes", f"/meetings/{world['meeting'].id}/minutes.pdf")]


# -- The index follows every write -----------------------------------------------------------------------

def test_changes_are_found_at_once_and_old_words_no_longer(world, api):
    caller = api(world["people"]["organiser"])
    issue = world["refund"]
    issue_services.transition(issue, to="assigned", actor=world["people"]["organiser"],
                              assignee=world["people"]["organiser"], due_date=officetime.today() + timedelta(days=9))
    issue_services.transition(issue, to="in_progress", actor=world["people"]["organiser"])
    issue_services.transition(issue, to="answered", actor=world["people"]["organiser"],
                              resolution="Đã có quyết định hoàn thuế số 123/QĐ-HQ.", legal_basis="Nghị định 134/2016")
    db.session.commit()
    assert ("issue", issue.id) in found(caller, "quyet dinh 134")
    assert ("issue", issue.id) in found(caller, "hoan thue", status="answered")
    assert ("issue", issue.id) not in found(caller, "hoan thue", status="open")

    org_services.update_business(world["cafe"], name="Công ty TNHH Hạt điều Bình Phước", address=None,
                                 unit=world["units"]["HCM-A"])
    db.session.commit()
    assert ("issue", world["origin"].id) in found(caller, "hat dieu binh phuoc")  # its issues follow its name
    assert ("contact", world["contact"].id) in found(caller, "hat dieu")
    assert found(caller, "da lat", type="business") == []

    db.session.delete(db.session.get(Contact, world["contact"].id))
    db.session.commit()
    assert found(caller, "hang.nguyen") == []


def test_bulk_imports_are_indexed_and_the_command_rebuilds_everything(world, api, runner):
    caller, officer = api(world["people"]["organiser"]), world["people"]["organiser"]
    new_code = valid_tax_code()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Đơn vị", "Người liên hệ", "Email",
                     "Điện thoại", "Chức vụ"])
    writer.writerow([new_code, "Công ty CP Thủy sản Cửu Long", "", "HCM-A", "Phạm Minh Khoa", "khoa@cuulong.vn",
                     "", ""])
    writer.writerow([world["cafe"].tax_code, "Công ty TNHH Cà phê Lâm Đồng", "", "HCM-A", "", "", "", ""])
    upload = import_services.read_upload("f.csv", buffer.getvalue().encode("utf-8-sig"))
    import_services.apply_import(upload.rows, user=officer, update_existing=True, filename="f.csv")
    db.session.commit()
    assert [k for k, _ in found(caller, "thuy san cuu long")] == ["business", "contact"]  # its contact too
    assert [k for k, _ in found(caller, "pham minh khoa")] == ["contact"]
    assert ("issue", world["refund"].id) in found(caller, "lam dong")  # renamed in bulk: its issues follow

    before = found(caller, "hoan thue")
    db.session.execute(SearchDocument.__table__.delete())  # as after an import below the ORM
    db.session.commit()
    assert found(caller, "hoan thue") == []
    result = runner.invoke(args=["search-reindex"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ document\(s\) indexed", result.output)
    assert found(caller, "hoan thue") == before


def test_the_documents_match_a_rebuild_after_many_writes(world):
    """What the listeners wrote is what a rebuild writes."""
    def snapshot():
        return db.session.execute(select(SearchDocument.id, SearchDocument.kind, SearchDocument.object_id,
                                         SearchDocument.unit_id, SearchDocument.business_id, SearchDocument.status)
                                  .order_by(SearchDocument.id)).all()

    org_services.update_business(world["steel"], name="Công ty CP Thép Miền Nam", address="Số 1",
                                 unit=world["units"]["HCM-A"])
    minutes_services.finalise_minutes(world["meeting"], actor=world["people"]["organiser"])
    db.session.commit()
    kept = snapshot()
    assert kept and db.session.execute(select(func.count()).select_from(SearchDocument)).scalar_one() == len(kept)
    index.rebuild()
    db.session.commit()
    assert snapshot() == kept


# -- Pages -----------------------------------------------------------------------------------------------

def test_the_results_page_groups_kinds_with_counts_and_links(world, client, login):
    login(world["people"]["manager"])
    html = client.get("/search", query_string={"q": "ca phe"}).get_data(as_text=True)
    headings = re.findall(r'<h2 id="group-(\w+)">', html)
    # Grouped, in a fixed order: the contact by its business's name, the minutes by their meeting's title.
    assert headings == ["issue", "business", "contact", "series", "meeting", "minutes"]
    assert f'href="/issues/{world["refund"].id}"' in html
    assert f'href="/businesses/{world["cafe"].id}"' in html
    assert f'href="/series/{world["series"].id}"' in html
    assert "<mark>Cà</mark> <mark>phê</mark>" in html  # the words found, as they were written
    filtered = client.get("/search", query_string={"q": "ca phe", "type": "business"}).get_data(as_text=True)
    assert f'href="/businesses/{world["cafe"].id}"' in filtered and "/issues/" not in filtered.split("<main")[1]


def test_a_page_of_results_runs_as_many_statements_for_one_match_as_for_many(world, client, login, count_queries):
    login(world["people"]["manager"])
    client.get("/search?q=ca+phe")  # warm: the session's user and the app's first-request work
    counted = {}
    for typed in ("GTGT", "ca phe", "hoan thue"):  # minutes only; five kinds; issues and minutes
        with count_queries() as statements:
            assert client.get("/search", query_string={"q": typed}).status_code == 200
        counted[typed] = statements.n
    # The same few statements (the person, the units of the filter, one to find, scope, rank and count), then one
    # per kind found to load what is shown: minutes only; issues and minutes; all six kinds.
    assert counted["GTGT"] - 1 == counted["hoan thue"] - 2 == counted["ca phe"] - 6, counted


def test_beyond_the_most_recent_matches_the_count_says_more(world, api, client, login, monkeypatch):
    monkeypatch.setattr(search_services, "CANDIDATES", 1)
    answer = api(world["people"]["manager"]).get("/api/v1/search", query_string={"q": "hoan thue"}).json
    # The newest issue and the minutes are counted and shown; there were more issues.
    assert answer["total"] == 2 and answer["more"] is True
    assert [(item["type"], item["id"]) for item in answer["items"]] == [
        ("issue", world["conduct"].id), ("minutes", world["meeting"].id)]
    login(world["people"]["manager"])
    html = client.get("/search", query_string={"q": "hoan thue"}).get_data(as_text=True)
    assert "Hơn 2 kết quả" in html and "(1+)" in html


def test_filters_by_unit_period_and_status(world, api):
    caller = api(world["people"]["department"])
    assert ids_of(found(caller, "hoan thue", unit="HCM-B", type="issue"), "issue") == [world["elsewhere"].id]
    today = datetime.now(UTC).date()
    assert found(caller, "hoan thue", type="issue", **{"from": str(today + timedelta(days=2))}) == []
    assert len(found(caller, "hoan thue", type="issue", **{"from": str(today - timedelta(days=2)),
                                                            "to": str(today + timedelta(days=2))})) == 3
    assert found(caller, "hoan thue", status="closed") == []
    response = caller.get("/api/v1/search", query_string={"q": "hoan thue", "unit": "QN-A"})
    assert response.status_code == 422 and "unit" in response.json["error"]["fields"]


def test_the_issue_lists_own_filter_reads_the_words_as_the_search_does(world, client, login):
    """The issue list's search field (and its exports) go through the index: accents, case, order, đ and
    prefixes aside, over the issue's words and its business's, within what the person sees."""
    login(world["people"]["department"])
    titles = {key: world[key].title for key in ("refund", "origin", "conduct", "elsewhere")}

    def listed(typed):
        page = client.get("/issues", query_string={"q": typed}).get_data(as_text=True)
        return {key for key, title in titles.items() if title in page}

    # The C/O issue says it in its description only; the sensitive one is not the department organiser's.
    for typed in ("hoan thue", "HOÀN THUẾ", "thuế hoàn", "hoan thu"):
        assert listed(typed) == {"refund", "origin", "elsewhere"}, typed
    assert listed("thép đông á") == listed("thep dong a") == {"elsewhere"}  # the business's name
    assert listed("mau d") == {"origin"}
    assert listed('"*!') == set()  # nothing searchable typed: nothing matches, no error
    assert listed("") == {"refund", "origin", "elsewhere"}
    exported = client.get("/issues.csv", query_string={"q": "hoan thue ca phe"}).get_data(as_text=True)
    assert titles["refund"] in exported and titles["elsewhere"] not in exported
    # Someone who sees the whole country is answered from the index's matches (not each issue looked up):
    # the same words find the same issues, and a unit chosen narrows them.
    client.post("/logout")
    login(world["people"]["admin"])
    assert listed("hoan thue") == {"refund", "origin", "elsewhere", "conduct"}  # the sensitive one too
    assert listed("xyzzy") == set()
    in_branch = client.get("/issues", query_string={"q": "hoan thue", "unit": "HCM-A"}).get_data(as_text=True)
    assert {key for key, title in titles.items() if title in in_branch} == {"refund", "origin", "conduct"}


def test_a_tax_code_or_an_issue_number_opens_its_page(world, client, login):
    login(world["people"]["organiser"])
    cafe = world["cafe"]
    for typed in (cafe.tax_code, f" {cafe.tax_code[:5]} {cafe.tax_code[5:]} "):
        response = client.get("/search", query_string={"q": typed})
        assert response.status_code == 302 and response.headers["Location"] == f"/businesses/{cafe.id}"
    for typed in (str(world["refund"].id), f"#{world['refund'].id}"):
        response = client.get("/search", query_string={"q": typed})
        assert response.status_code == 302 and response.headers["Location"] == f"/issues/{world['refund'].id}"
    # What the person may not open is not jumped to (nor found).
    assert client.get("/search", query_string={"q": world["steel"].tax_code}).status_code == 200
    assert client.get("/search", query_string={"q": str(world["elsewhere"].id)}).status_code == 200


def test_suggestions_come_from_the_third_letter_within_scope(world, client, login):
    login(world["people"]["organiser"])
    assert client.get("/search/suggest", query_string={"q": "ho"}).json == {"items": []}
    items = client.get("/search/suggest", query_string={"q": "hoà"}).json["items"]
    assert items and all(set(item) == {"type", "kind", "title", "url", "day"} for item in items)
    assert not any("Thép" in item["title"] for item in items)
    # The meetings of a series share its title: each comes with its day.
    meetings = client.get("/search/suggest", query_string={"q": "cà phê"}).json["items"]
    assert [item["day"] for item in meetings if item["type"] == "meeting"] == [FIRST_MONDAY.strftime("%d/%m/%Y")]
    assert all(item["day"] == "" for item in meetings if item["type"] in ("issue", "business", "series"))
    html = client.get("/").get_data(as_text=True)
    assert 'role="search"' in html and 'role="combobox"' in html and "/search/suggest" in html
    assert 'src="/static/js/search.js"' in html


def test_matched_words_are_highlighted_and_everything_else_escaped(world, client, login, topics):
    hostile = issue_services.create_issue(
        title='<script>alert("x")</script> hoàn thuế <b>ngay</b>', business=world["cafe"], channel="web",
        topic=topics["refund"], unit=world["units"]["HCM-A"], actor=world["people"]["organiser"],
        description="<img src=x onerror=alert(1)> hoàn thuế")
    db.session.commit()
    login(world["people"]["organiser"])
    html = client.get("/search", query_string={"q": "hoan thue", "type": "issue"}).get_data(as_text=True)
    assert f'href="/issues/{hostile.id}"' in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>ngay</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; <mark>hoàn</mark> <mark>thuế</mark>" in html


def test_the_public_answers_are_searched_in_their_published_words_only(world, client, topics):
    issue = world["refund"]
    actor = world["people"]["organiser"]
    issue_services.transition(issue, to="assigned", actor=actor, assignee=actor, due_date=officetime.today())
    issue_services.transition(issue, to="in_progress", actor=actor)
    issue_services.transition(issue, to="answered", actor=actor, resolution="Đã hoàn thuế.")
    issue_services.publish(issue, actor=actor, question="Hồ sơ hoàn thuế nguyên liệu nộp lâu chưa có kết quả?",
                           answer="Hồ sơ thuộc diện kiểm tra trước hoàn thuế.")
    db.session.commit()
    html = client.get("/qa/search", query_string={"q": "hoan thue kiem tra"}).get_data(as_text=True)
    assert "<mark>kiểm</mark> <mark>tra</mark>" in html and "Tìm thấy 1 câu trả lời" in html
    # Not the business's name, nor what was never published.
    for typed in ("ca phe da lat", "C/O mau D", world["cafe"].tax_code):
        assert "Không có câu trả lời nào" in client.get("/qa/search", query_string={"q": typed}).get_data(
            as_text=True), typed
    assert 'action="/qa/search"' in client.get("/qa").get_data(as_text=True)


# -- Bad input -------------------------------------------------------------------------------------------

HOSTILE = ["", " ", "a", "é", "x" * 2000, "hoàn " * 400, '"', '"hoan', "hoan*", "* *", "NEAR(hoan thue)",
           "hoan NEAR thue", "title:hoan", "body : x", "hoan & thue", "hoan | thue", "!hoan", "-hoan", "hoan -thue",
           "'; DROP TABLE issues; --", "\\", "{title}: x", "^hoan", "hoan AND", "OR", "(", ")", "💥💥",
           "\ud800hoan", "hoan\udfff thue", "\x00", "%_%", "<>"]


def with_query(path: str, typed: str) -> str:
    # Half a surrogate pair has no UTF-8: sent as the bytes a client would write for it (WTF-8).
    return f"{path}?q={quote(typed, encoding='utf-8', errors='surrogatepass')}"


@pytest.mark.parametrize("typed", HOSTILE)
def test_no_query_is_an_error_on_the_page(world, client, login, typed):
    login(world["people"]["organiser"])
    for path in ("/search", "/search/suggest", "/qa/search"):
        response = client.get(with_query(path, typed))
        assert response.status_code in (200, 302), (path, typed)


def test_no_query_is_an_error_in_the_api(world, api):
    caller = api(world["people"]["organiser"])
    for typed in HOSTILE:
        response = caller.get(with_query("/api/v1/search", typed))
        # Control characters (a NUL included) are taken out at the door (clean_input.py): the rest is searched.
        assert response.status_code == 200, (typed, response.json)
    assert caller.get("/api/v1/search", query_string={"q": "x" * 2001}).status_code == 422
    empty = caller.get("/api/v1/search", query_string={"q": ""}).json
    assert empty["items"] == [] and empty["total"] == 0 and empty["message"]
    assert caller.get("/api/v1/search", query_string={"q": "a"}).json["message"] == "Hãy gõ ít nhất hai chữ cái."
    assert caller.get("/api/v1/search", query_string={"q": "hoan", "type": "nope"}).status_code == 422


def test_short_queries_get_a_message(world, client, login):
    login(world["people"]["organiser"])
    assert "Hãy gõ ít nhất hai chữ cái." in client.get("/search?q=a").get_data(as_text=True)
    html = client.get("/search?q=hoan&from=2026-13-45").get_data(as_text=True)
    assert "không phải là ngày" in html


# -- The text functions, without a database --------------------------------------------------------------

def test_words_fold_vietnamese_and_cut_at_anything_else():
    assert words("Hoàn thuế C/O mẫu D — Đà Lạt, 31/2022/TT-BTC") == [
        "hoan", "thue", "c", "o", "mau", "d", "da", "lat", "31", "2022", "tt", "btc"]
    assert words("snake_case") == ["snake", "case"]


def test_queries_never_carry_syntax():
    query = parse('"hoàn" NEAR(thuế*) title: -x & y | !z')
    assert query.words == ("hoan", "near", "thue", "title", "x", "y", "z")
    assert query.fts5() == '"hoan"* AND "near"* AND "thue"* AND "title"* AND "x" AND "y" AND "z"'
    assert query.tsquery() == "'hoan' & 'near' & 'thue' & 'title' & 'x' & 'y' & 'z'"
    assert parse("a " * 50).words == ("a",) and len(parse(" ".join(f"w{i}" for i in range(50))).words) == 8


def test_highlight_marks_the_prefix_typed_in_the_original_letters():
    query = parse("hoan thu")
    assert str(highlight("Hồ sơ HOÀN THUẾ & <b>", query)) == \
        "Hồ sơ <mark>HOÀN</mark> <mark>THU</mark>Ế &amp; &lt;b&gt;"
    assert matches("Đà Lạt", parse("đa")) == [(0, 2)]


def test_the_national_demo_is_searchable_once_built(app, runner, monkeypatch, client):
    """Written in bulk below the listeners, the national demo ends by building the index."""
    monkeypatch.setattr(demo_national, "seed_national", functools.partial(
        demo_national.seed_national, demo_national.NationalSizes(departments=2, branches=3, businesses=60,
                                                                 years=1, issues=300)))
    result = runner.invoke(args=["seed-demo", "--scale", "national", "--password", "một mật khẩu dài"])
    assert result.exit_code == 0, result.output
    issues = db.session.execute(select(func.count()).select_from(Issue)).scalar_one()
    indexed = db.session.execute(select(func.count()).select_from(SearchDocument).where(
        SearchDocument.kind == "issue")).scalar_one()
    assert indexed == issues == 300
    token = client.post("/api/v1/tokens", json={"email": "admin@dialogue-demo.vn",
                                                 "password": "một mật khẩu dài"}).json["token"]
    answer = client.get("/api/v1/search", query_string={"q": "chi cuc", "type": "series"},
                        headers={"Authorization": f"Bearer {token}"}).json
    assert answer["total"] == 3  # every branch's "Cà phê sáng" is held at its Chi cục's hall


def test_the_unit_filter_renders_the_top_levels_and_its_script_brings_every_unit(world, client, login):
    """The results page renders the top two levels of what the person sees and the unit chosen; the rest comes
    from /search/units (search.js), a list the browser may keep under a name that changes with what one sees."""
    login(world["people"]["admin"])
    html = client.get("/search", query_string={"q": "hoan thue", "unit": "QN-A"}).get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"\s*(selected)?', html.split('name="unit"')[1].split("</select>")[0])
    assert options == [("", ""), ("TCHQ", ""), ("HCM", ""), ("QN", ""), ("QN-A", "selected")]
    url = re.search(r'data-units-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    response = client.get(url)
    assert [unit["code"] for unit in response.json["items"]] == ["TCHQ", "HCM", "HCM-A", "HCM-B", "QN", "QN-A",
                                                                 "QN-B"]
    assert response.cache_control.private and response.cache_control.max_age > 0
    client.post("/logout")
    login(world["people"]["organiser"])
    html = client.get("/search", query_string={"q": "hoan thue"}).get_data(as_text=True)
    assert re.search(r'data-units-url="([^"]+)"', html).group(1) != url  # another scope, another list
    assert [unit["code"] for unit in client.get("/search/units").json["items"]] == ["HCM-A"]


def test_a_hits_day_is_written_as_every_page_writes_dates(app):
    """Around midnight in Hà Nội: the office's day, stored times without a zone read as UTC."""
    with app.test_request_context():
        for at in (datetime(2026, 1, 25, 17, 30), datetime(2026, 1, 25, 17, 30, tzinfo=UTC),
                   datetime(2026, 1, 25, 16, 59, tzinfo=UTC)):
            hit = search_services.Hit(kind="issue", id=1, url="", title="", snippet="", at=at, status="")
            assert hit.day == local_date(at)


def test_minutes_are_found_and_shown_by_their_words_not_their_markdown(world, api):
    minutes_services.save_minutes(
        world["meeting"], actor=world["people"]["organiser"],
        body="Chi cục phổ biến **Thông tư 33/2023/TT-BTC**.\n\n| Nội dung | Trả lời |\n|---|---|\n| C/O mẫu D | Được |",
        conclusions="", chair="Trần Văn Bình", secretary="Lê Thị Cúc")
    db.session.commit()
    response = api(world["people"]["organiser"]).get("/api/v1/search", query_string={"q": "thong tu 33"})
    [hit] = [item for item in response.json["items"] if item["type"] == "minutes"]
    assert "Thông tư 33/2023/TT-BTC" in hit["snippet"] and "C/O mẫu D" in hit["snippet"]
    assert "**" not in hit["snippet"] and "|" not in hit["snippet"] and "---" not in hit["snippet"]

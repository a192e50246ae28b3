"""Benchmark: the minutes PDF (issue 6 asks for at most 1.15x WeasyPrint alone, and under 5 ms from the cache).

Builds a throw-away database (SQLite by default, or the one in BENCH_DATABASE_URL) with one meeting of a
series: 60 attendees, 40 issues raised at it (most answered, with their legal basis), 10 carried over from
the meeting before, and written minutes. Then, through the app as an API client with a bearer token:

- the full request on a cache miss (`GET /meetings/{id}/minutes.pdf` with the cache emptied: sign-in,
  scope, the fingerprint, the queries, the template, the Markdown, WeasyPrint, storing the result) against
  WeasyPrint alone printing the very same HTML with the same options; runs alternate, medians compared;
- the same request on a cache hit (the unchanged PDF), and with If-None-Match (304).

Run: `.venv/bin/python bench/minutes_pdf.py` (about a minute).
"""

import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime

from result import emit, row

from dialogue_app import create_app, pdf
from dialogue_app.attendance.models import Attendee
from dialogue_app.auth import services as auth_services
from dialogue_app.auth.models import User
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.issues.models import Topic
from dialogue_app.issues.topics import default_topic_rows
from dialogue_app.minutes import services
from dialogue_app.minutes.models import MinutesPdf
from dialogue_app.org import services as org_services
from dialogue_app.org.taxcode import check_digit
from dialogue_app.scheduling import services as scheduling
from dialogue_app.scheduling.models import Meeting

ATTENDEES, ISSUES, CARRIED = 60, 40, 10
RATIO_TARGET, CACHED_TARGET_MS = 1.15, 5.0
RENDER_RUNS, CACHED_RUNS = 9, 300
PASSWORD = "benchmark password"


def tax_code(serial: int) -> str:
    while True:
        head = f"03{serial:07d}"
        if (digit := check_digit(head)) is not None:
            return head + str(digit)
        serial += 1


def build(app) -> int:
    """The meeting, its people, its issues and its minutes; returns the meeting's id."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all(Topic(**row) for row in default_topic_rows())
        general = org_services.create_unit(code="TCHQ", name="Tổng cục Hải quan", level="general", parent=None)
        department = org_services.create_unit(code="HCM", name="Cục Hải quan Thành phố Hồ Chí Minh",
                                              level="department", parent=general)
        branch = org_services.create_unit(code="HCM-KCNC", name="Chi cục Hải quan Khu công nghệ cao",
                                          level="branch", parent=department)
        businesses = [org_services.create_business(tax_code=tax_code(1000 + i * 37), unit=branch,
                                                   name=f"Công ty TNHH Linh kiện Điện tử Phương Nam số {i + 1}")
                      for i in range(30)]
        officer = auth_services.create_user(email="officer@bench.vn", name="Nguyễn Thị Mai", password=PASSWORD,
                                            role="organiser", unit=branch)
        db.session.flush()
        topics = {t.code: t for t in db.session.execute(db.select(Topic)).scalars()}
        series = scheduling.create_series(
            title="Cà phê sáng cùng doanh nghiệp", unit=branch, location="Hội trường Chi cục, Lô I3-1, Đường N2",
            rule="FREQ=MONTHLY;BYDAY=-1MO", first_start=datetime(2025, 8, 25, 8), duration_minutes=150,
            invitees=businesses)
        db.session.flush()
        earlier, _ = scheduling.meeting_for(series, date(2025, 9, 29))
        meeting, _ = scheduling.meeting_for(series, date(2025, 10, 27))
        db.session.flush()
        for i in range(ATTENDEES):
            business = businesses[i % len(businesses)] if i >= 6 else None
            db.session.add(Attendee(
                meeting_id=meeting.id, business_id=business.id if business else None,
                user_id=officer.id if i == 0 else None, name=f"Người tham dự số {i + 1:02d} Trần Văn Đức",
                organisation=business.name if business else branch.name,
                role="Trưởng phòng Xuất nhập khẩu" if business else "Công chức Chi cục",
                attendance="present" if i % 9 else "absent"))
        codes = list(topics)
        for n, (at, count) in enumerate([(earlier, CARRIED), (meeting, ISSUES)]):
            for i in range(count):
                issue = issue_services.create_issue(
                    title=f"Vướng mắc về phân loại, áp mã HS và thủ tục hoàn thuế đối với lô hàng số {n}-{i}",
                    description="Mô tả chi tiết", business=businesses[i % len(businesses)], channel="meeting",
                    topic=topics[codes[i % len(codes)]], unit=branch, actor=officer, meeting=at,
                    raised_by_name="Phạm Thu Hà")
                if at is meeting and i % 4:
                    issue.assignee, issue.due_date, issue.status = officer, date(2025, 11, 14), "in_progress"
                    issue_services.transition(
                        issue, to="answered", actor=officer, legal_basis="Thông tư 31/2022/TT-BTC; Nghị định 08/2015",
                        resolution="Hàng hóa được phân loại vào nhóm 85.42; doanh nghiệp khai bổ sung theo hướng dẫn "
                                   "tại văn bản trả lời của Chi cục và nộp lại hồ sơ trong thời hạn quy định.")
        services.save_minutes(
            meeting, actor=officer, chair="Nguyễn Văn Hùng, Phó Chi cục trưởng", secretary="Lê Thị Thu Trang",
            agenda="1. Phổ biến văn bản mới\n2. Doanh nghiệp nêu vướng mắc\n3. Kết luận",
            body="\n\n".join(f"**Ý kiến {i}.** Doanh nghiệp trao đổi về thủ tục *hải quan điện tử* và kiểm tra "
                             "sau thông quan; Chi cục trả lời trực tiếp." for i in range(1, 16)),
            conclusions="1. Trả lời đúng hạn.\n2. Duy trì đối thoại hằng tháng.")
        db.session.commit()
        return meeting.id


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "INSTANCE_PATH": folder, "RATELIMIT_ENABLED": False})
        meeting_id = build(app)
        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"email": "officer@bench.vn", "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/meetings/{meeting_id}/minutes.pdf"

        with app.app_context():
            meeting = db.session.get(Meeting, meeting_id)
            reader = db.session.execute(db.select(User)).scalar_one()

            def reader_id():  # in the benchmark's own app context
                return db.session.execute(db.select(User)).scalar_one()
            with app.test_request_context():
                html = services.render_html(services.build_document(meeting, reader))
            folder_static = app.static_folder

        def weasyprint_alone():
            pdf.html_to_pdf(html, static_folder=folder_static, identifier="bench")

        def empty_cache():
            with app.app_context():
                db.session.execute(db.delete(MinutesPdf))
                db.session.commit()

        def full_request():
            response = client.get(path, headers=headers)
            assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code

        def ours_alone():
            with app.app_context(), app.test_request_context():
                services.render_html(services.build_document(db.session.get(Meeting, meeting_id), reader_id()))

        first = client.get(path, headers=headers)  # warm-up: fonts, templates, caches
        weasyprint_alone()
        alone, full = [], []
        for _ in range(RENDER_RUNS):
            alone.append(timed(weasyprint_alone))
            empty_cache()
            full.append(timed(full_request))
        ours = sorted(timed(ours_alone) for _ in range(RENDER_RUNS))
        ratio = statistics.median(full) / statistics.median(alone)
        pdf_kib = len(first.data) // 1024
        print(f"meeting with {ATTENDEES} attendees, {ISSUES} issues raised, {CARRIED} carried over: "
              f"{pdf_kib} KiB PDF")
        print(f"WeasyPrint alone   median {statistics.median(alone):7.1f} ms  (min {min(alone):.1f})")
        print(f"full request, miss median {statistics.median(full):7.1f} ms  (min {min(full):.1f})"
              f"  ratio {ratio:.3f} (target <= {RATIO_TARGET})")
        print(f"  of which the app's own part (queries, template, Markdown) median {statistics.median(ours):.1f} ms")

        client.get(path, headers=headers)  # cached again
        etag = client.get(path, headers=headers).headers["ETag"]
        hits, not_modified = [], []
        for _ in range(CACHED_RUNS):
            hits.append(timed(lambda: client.get(path, headers=headers)))
            not_modified.append(timed(lambda: client.get(path, headers={**headers, "If-None-Match": etag})))
        hits.sort()
        not_modified.sort()
        p95 = hits[int(len(hits) * 0.95) - 1]
        print(f"cache hit (200)    median {statistics.median(hits):7.2f} ms  p95 {p95:.2f} ms"
              f"  (target < {CACHED_TARGET_MS} ms)")
        print(f"If-None-Match (304) median {statistics.median(not_modified):6.2f} ms  "
              f"p95 {not_modified[int(len(not_modified) * 0.95) - 1]:.2f} ms")
        with app.app_context():
            db.drop_all() if url else None
            db.engine.dispose()
    met = ratio <= RATIO_TARGET and p95 < CACHED_TARGET_MS
    print("targets: " + ("met" if met else "MISSED"))
    weasy = statistics.median(alone)
    emit("minutes_pdf", met, f"the minutes PDF within {RATIO_TARGET}x WeasyPrint alone on the same HTML; "
         f"from the cache under {CACHED_TARGET_MS:g} ms", [
             row("full request on a cache miss, median", statistics.median(full), "ms", f"<= {RATIO_TARGET}x anchor",
                 anchor=f"WeasyPrint alone, same HTML: {weasy:.1f} ms", met=ratio <= RATIO_TARGET,
                 detail=f"ratio {ratio:.3f}; min {min(full):.1f} ms vs {min(alone):.1f} ms"),
             row("the app's own part (queries, template, Markdown), median", statistics.median(ours), "ms"),
             row("cache hit (200), p95", p95, "ms", f"< {CACHED_TARGET_MS:g} ms", met=p95 < CACHED_TARGET_MS,
                 detail=f"median {statistics.median(hits):.2f} ms"),
             row("If-None-Match (304), p95", not_modified[int(len(not_modified) * 0.95) - 1], "ms",
                 detail=f"median {statistics.median(not_modified):.2f} ms"),
         ], ratio=round(ratio, 3), pdf_kib=pdf_kib, database=(url or "sqlite").split("://")[0].split("+")[0])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Demo minutes: the demo's past meetings get minutes, final for all but the most recent (a draft)."""

from datetime import UTC, datetime

from sqlalchemy import select

from ..extensions import db
from ..issues.models import Issue
from ..minutes import services
from ..scheduling.models import Meeting

CHAIR = "Nguyễn Văn Hùng, Phó Chi cục trưởng"
SECRETARY = "Lê Thị Thu Trang, công chức Đội Tổng hợp"
AGENDA = """1. Chi cục thông tin các văn bản pháp luật về hải quan mới ban hành trong tháng.
2. Doanh nghiệp nêu khó khăn, vướng mắc và kiến nghị.
3. Các đội nghiệp vụ trả lời, hướng dẫn; lãnh đạo Chi cục kết luận."""
CONCLUSIONS = """1. Chi cục duy trì đối thoại định kỳ vào thứ Hai tuần cuối mỗi tháng; doanh nghiệp đăng ký
   trước nội dung cần trao đổi qua hộp thư điện tử của Chi cục.
2. Vướng mắc chưa trả lời được tại hội nghị được giao đội nghiệp vụ trả lời bằng văn bản đúng thời hạn;
   kết quả được công khai trên trang thông tin của Chi cục.
3. Đề nghị doanh nghiệp phản ánh kịp thời khó khăn qua đường dây nóng và nhóm Zalo của Chi cục."""
ISSUES_PER_MEETING = 3


def _link_issues(meeting: Meeting, until: datetime | None) -> None:
    """Issues the unit recorded between this meeting and the next are taken as raised at the meeting, so
    that the demo's minutes have issues to list and the next meetings have issues carried over."""
    if db.session.execute(select(Issue.id).where(Issue.meeting_id == meeting.id).limit(1)).first():
        return
    window = select(Issue).where(Issue.origin_unit_id == meeting.unit_id, Issue.meeting_id.is_(None),
                                 Issue.created_at >= meeting.start)
    if until is not None:
        window = window.where(Issue.created_at < until)
    for issue in db.session.execute(window.order_by(Issue.created_at).limit(ISSUES_PER_MEETING)).scalars():
        issue.meeting, issue.channel = meeting, "meeting"


def seed_demo_minutes(now: datetime | None = None) -> int:
    """Write minutes for every meeting that ended before `now` (default: now) and was not cancelled: final
    for all but the most recent one, which stays a draft. Returns how many meetings got minutes."""
    now = now or datetime.now(UTC)
    past = db.session.execute(
        select(Meeting).where(Meeting.end < now, Meeting.status != "cancelled").order_by(Meeting.start)
    ).scalars().all()
    for index, meeting in enumerate(past):
        following = past[index + 1].start if index + 1 < len(past) else None
        _link_issues(meeting, following)
    db.session.flush()
    for index, meeting in enumerate(past):
        start = services.in_office_zone(meeting.start)
        titles = db.session.execute(
            select(Issue.title).where(Issue.meeting_id == meeting.id).order_by(Issue.id)
        ).scalars().all()
        voices = "\n".join(f"- {title}." for title in titles) or \
            "- Doanh nghiệp trao đổi về thủ tục khai báo; không phát sinh vướng mắc mới."
        services.save_minutes(
            meeting, actor=None, chair=CHAIR, secretary=SECRETARY,
            closing_time=services.in_office_zone(meeting.end).time().replace(second=0, microsecond=0), agenda=AGENDA,
            body=(f"Hội nghị khai mạc lúc {start:%H:%M}. Đại diện Chi cục phổ biến các điểm mới về thủ tục hải "
                  "quan điện tử, quản lý rủi ro và kiểm tra sau thông quan.\n\n"
                  f"**Doanh nghiệp nêu vướng mắc, kiến nghị:**\n\n{voices}\n\n"
                  "**Chi cục trả lời:** các vướng mắc thuộc thẩm quyền được trả lời ngay tại hội nghị; vướng mắc "
                  "cần nghiên cứu thêm được ghi nhận và trả lời bằng văn bản theo thời hạn quy định."),
            conclusions=CONCLUSIONS,
        )
        if index < len(past) - 1:
            services.finalise_minutes(meeting, actor=None)
    return len(past)

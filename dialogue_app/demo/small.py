"""The demo: a small, realistic slice of Vietnam's customs service, for trying Dialogue out.

Names of businesses and people are invented; their tax codes are valid by the check-digit rule.
"""

import random
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from ..attendance import services as attendance
from ..auth import services as auth_services
from ..db import utcnow
from ..extensions import db
from ..issues import services as issue_services
from ..issues.models import Topic
from ..issues.topics import default_topic_rows
from ..mail.models import OutboxMessage
from ..org import services as org_services
from ..org.taxcode import check_digit
from ..reports.models import UnitPlan
from ..scheduling import services as scheduling_services
from ..text import fold
from .minutes import seed_demo_minutes

DEMO_DOMAIN = "dialogue-demo.vn"

UNITS = [
    # code, name, level, parent
    ("TCHQ", "Tổng cục Hải quan", "general", None),
    ("HCM", "Cục Hải quan Thành phố Hồ Chí Minh", "department", "TCHQ"),
    ("QN", "Cục Hải quan tỉnh Quảng Ninh", "department", "TCHQ"),
    ("HCM-KCNC", "Chi cục Hải quan Khu công nghệ cao", "branch", "HCM"),
    ("HCM-SG1", "Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I", "branch", "HCM"),
    ("QN-HG", "Chi cục Hải quan cửa khẩu cảng Hòn Gai", "branch", "QN"),
    ("QN-MC", "Chi cục Hải quan cửa khẩu quốc tế Móng Cái", "branch", "QN"),
]

BUSINESSES = [
    # unit, tax code prefix (province), name, address
    ("HCM-KCNC", "03", "Công ty TNHH Điện tử Sao Việt",
     "Lô I-3, Đường D1, Khu Công nghệ cao, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("HCM-KCNC", "03", "Công ty TNHH Linh kiện Bán dẫn Phương Nam",
     "Lô T2-5, Đường D2, Khu Công nghệ cao, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("HCM-KCNC", "03", "Công ty Cổ phần Công nghệ Y sinh Thủ Đức",
     "Lô E2a-7, Đường D1, Khu Công nghệ cao, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("HCM-KCNC", "03", "Công ty TNHH Cơ khí Chính xác Đông Á",
     "Lô I-11, Đường N2, Khu Công nghệ cao, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("HCM-KCNC", "03", "Công ty TNHH Dịch vụ Khai báo Hải quan Tân Phú",
     "45 Lê Văn Việt, Phường Hiệp Phú, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("HCM-SG1", "03", "Công ty Cổ phần Cà phê Hòa Bình",
     "112 Nguyễn Tất Thành, Phường 13, Quận 4, TP. Hồ Chí Minh"),
    ("HCM-SG1", "03", "Công ty TNHH Xuất nhập khẩu Nông sản Mê Kông",
     "27 Bến Vân Đồn, Phường 12, Quận 4, TP. Hồ Chí Minh"),
    ("HCM-SG1", "03", "Công ty TNHH Giao nhận Vận tải Cát Lái",
     "Số 1295B Nguyễn Thị Định, Phường Cát Lái, TP. Thủ Đức, TP. Hồ Chí Minh"),
    ("QN-HG", "57", "Công ty TNHH Vật liệu Xây dựng Hạ Long",
     "Tổ 3, Khu 5, Phường Giếng Đáy, TP. Hạ Long, Quảng Ninh"),
    ("QN-HG", "57", "Công ty Cổ phần Cảng biển Bãi Cháy",
     "Số 8 Đường Cái Lân, Phường Bãi Cháy, TP. Hạ Long, Quảng Ninh"),
    ("QN-HG", "57", "Công ty TNHH Thủy sản Vân Đồn",
     "Thôn 5, Xã Hạ Long, Huyện Vân Đồn, Quảng Ninh"),
    ("QN-HG", "57", "Công ty TNHH Đóng tàu Hòn Gai",
     "Số 2 Đường Lê Thánh Tông, Phường Hồng Gai, TP. Hạ Long, Quảng Ninh"),
    ("QN-MC", "57", "Công ty TNHH Thương mại Biên mậu Móng Cái",
     "Số 16 Đường Hùng Vương, Phường Ka Long, TP. Móng Cái, Quảng Ninh"),
    ("QN-MC", "57", "Công ty TNHH Kho vận Bắc Luân",
     "Khu cửa khẩu Bắc Luân II, Phường Hải Hòa, TP. Móng Cái, Quảng Ninh"),
]

# More businesses, made from the kinds of firms the branches serve (names invented).
MORE_BUSINESSES = {
    "HCM-KCNC": ["Công ty TNHH Vi mạch Sài Gòn", "Công ty TNHH Thiết bị Quang học Tân Phú",
                 "Công ty TNHH Pin Năng lượng Xanh", "Công ty Cổ phần Robot Công nghiệp Việt",
                 "Công ty TNHH Cảm biến Thông minh Đông Nam", "Công ty TNHH Dược phẩm Sinh học Long Phước"],
    "HCM-SG1": ["Công ty TNHH Thủy sản Cần Giờ", "Công ty Cổ phần Hạt điều Bình Phước",
                "Công ty TNHH Đồ gỗ Xuất khẩu Phú Hòa", "Công ty TNHH Dệt may Tân Thuận",
                "Công ty Cổ phần Cao su Miền Đông", "Công ty TNHH Đại lý Hải quan Bến Nghé"],
    "QN-HG": ["Công ty TNHH Than đá Cẩm Phả Mới", "Công ty Cổ phần Vận tải Biển Hạ Long",
              "Công ty TNHH Ngọc trai Vân Đồn", "Công ty TNHH Xi măng Thăng Long Bắc",
              "Công ty TNHH Đại lý Tàu biển Cái Lân"],
    "QN-MC": ["Công ty TNHH Trái cây Biên giới Bắc Luân", "Công ty TNHH Thương mại Ka Long",
              "Công ty Cổ phần Kho lạnh Móng Cái", "Công ty TNHH Vận tải Quốc tế Hải Hòa",
              "Công ty TNHH Xuất nhập khẩu Trà Cổ"],
}

CONTACTS = [
    ("Nguyễn Văn An", "Giám đốc"),
    ("Trần Thị Bích Ngọc", "Trưởng phòng Xuất nhập khẩu"),
    ("Lê Minh Tuấn", "Nhân viên khai báo hải quan"),
    ("Phạm Thu Hà", "Phó phòng Xuất nhập khẩu"),
    ("Hoàng Đức Thắng", "Kế toán trưởng"),
]


def demo_tax_code(prefix: str, serial: int) -> str:
    """A valid 10-digit code: province prefix, a serial, and the check digit (skipping serials with none)."""
    while True:
        head = f"{prefix}{serial:07d}"
        digit = check_digit(head)
        if digit is not None:
            return f"{head}{digit}"
        serial += 1


def _email_local(name: str) -> str:
    return ".".join(fold(name).split()[-2:])


def seed(password: str | None = None) -> list[tuple[str, str, str]]:
    """Add the demo units, businesses, contacts and one account per role; returns (role, email, password)."""
    units = {}
    for code, name, level, parent in UNITS:
        units[code] = org_services.create_unit(code=code, name=name, level=level, parent=units.get(parent))

    businesses = []
    for index, (unit_code, prefix, name, address) in enumerate(BUSINESSES):
        business = org_services.create_business(
            tax_code=demo_tax_code(prefix, 1_234_500 + index * 97), name=name, address=address,
            unit=units[unit_code],
        )
        for offset in range(3):
            person, position = CONTACTS[(index + offset) % len(CONTACTS)]
            org_services.add_contact(
                business, name=person, position=position,
                email=f"{_email_local(person)}@dn{index + 1:02d}.{DEMO_DOMAIN}",
                phone=f"09{(index * 7919 + offset * 104729) % 100_000_000:08d}",
            )
        businesses.append(business)

    for unit_code, names in MORE_BUSINESSES.items():
        prefix = "03" if unit_code.startswith("HCM") else "57"
        # The same district as the branch's first business: a plausible address, not a real one.
        district = next(a for u, _, _, a in BUSINESSES if u == unit_code).split(",", 1)[1].strip()
        for name in names:
            index = len(businesses)
            business = org_services.create_business(
                tax_code=demo_tax_code(prefix, 1_234_500 + index * 97), name=name, unit=units[unit_code],
                address=district,
            )
            for offset in range(2):
                person, position = CONTACTS[(index + offset) % len(CONTACTS)]
                org_services.add_contact(business, name=person, position=position,
                                         email=f"{_email_local(person)}@dn{index + 1:02d}.{DEMO_DOMAIN}")
            businesses.append(business)
    _seed_meetings(units, businesses)

    accounts = [
        ("admin", f"admin@{DEMO_DOMAIN}", "Phạm Minh Khoa", None, None),
        ("organiser", f"canbo.kcnc@{DEMO_DOMAIN}", "Nguyễn Thị Mai", units["HCM-KCNC"], None),
        ("organiser", f"canbo.hongai@{DEMO_DOMAIN}", "Vũ Văn Hải", units["QN-HG"], None),
        ("manager", f"lanhdao.hcm@{DEMO_DOMAIN}", "Trần Quốc Bảo", units["HCM"], None),
        ("manager", f"lanhdao.tchq@{DEMO_DOMAIN}", "Đỗ Thị Lan", units["TCHQ"], None),
        ("business", f"doanhnghiep@{DEMO_DOMAIN}", "Lê Minh Tuấn", None, businesses[0]),
    ]
    created, users = [], {}
    for role, email, name, unit, business in accounts:
        secret = password or secrets.token_urlsafe(9)
        users[email] = auth_services.create_user(email=email, name=name, password=secret, role=role, unit=unit,
                                                 business=business)
        created.append((role, email, secret))
    _seed_issues(units, businesses, users)
    _seed_plans(units)
    seed_demo_minutes()
    # The demo's notifications were addressed to invented people: nothing of it is to leave the machine.
    db.session.execute(delete(OutboxMessage))
    return created


HANOI = ZoneInfo("Asia/Ho_Chi_Minh")

SERIES = [
    # unit, title, rule, first start, minutes, policy, location
    ("HCM-KCNC", "Cà phê sáng cùng doanh nghiệp", "FREQ=MONTHLY;BYDAY=-1MO", datetime(2019, 9, 30, 8, 0), 120,
     "next_workday", "Hội trường Chi cục Hải quan Khu công nghệ cao, Lô I3-1, Đường N2, Khu Công nghệ cao"),
    ("HCM-SG1", "Ngày tiếp doanh nghiệp sáng thứ Năm", "FREQ=WEEKLY;BYDAY=TH", datetime(2025, 1, 2, 8, 0), 180,
     "skip", "Phòng tiếp doanh nghiệp, Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I"),
    ("QN-HG", "Hội nghị đối thoại doanh nghiệp hằng quý", "FREQ=MONTHLY;INTERVAL=3;BYDAY=1TU",
     datetime(2024, 1, 2, 8, 30), 150, "next_workday", "Hội trường Chi cục Hải quan cửa khẩu cảng Hòn Gai"),
    ("QN-MC", "Gặp mặt doanh nghiệp xuất nhập khẩu biên mậu", "FREQ=MONTHLY;BYMONTHDAY=15", datetime(2025, 1, 15, 9, 0),
     90, "previous_workday", "Phòng họp Chi cục Hải quan cửa khẩu quốc tế Móng Cái"),
]


def _seed_plans(units) -> None:
    """Each branch plans a dialogue a month and meets a share of the businesses it serves, this year and last."""
    this_year = datetime.now(HANOI).year
    for unit in units.values():
        if unit.level == "branch":
            for year in (this_year - 1, this_year):
                db.session.add(UnitPlan(unit_id=unit.id, year=year, dialogues=12, businesses=8))


def _seed_attendance(meeting, invitees) -> None:
    """Two or three people from most invited businesses came; one business sent its apologies."""
    rng = random.Random(meeting.occurrence.toordinal())
    for index, business in enumerate(invitees):
        for contact in business.contacts[: rng.choice([1, 2, 2, 3])]:
            attendance.check_in(meeting, contact, "excused" if index == len(invitees) - 1 else "present")
    attendance.add_walk_in(meeting, name="Nguyễn Hoàng Nam", organisation="Báo Hải quan", role="Phóng viên")


def _seed_meetings(units, businesses) -> None:
    """The series the branches hold, a few dates moved or cancelled, and a year of held meetings."""
    created = []
    for unit_code, title, rule, first_start, minutes, policy, location in SERIES:
        series = scheduling_services.create_series(
            title=title, unit=units[unit_code], location=location, rule=rule, first_start=first_start,
            duration_minutes=minutes, holiday_policy=policy,
            description="Lãnh đạo Chi cục trao đổi, tháo gỡ vướng mắc về thủ tục hải quan cho doanh nghiệp.",
            invitees=[b for b in businesses if b.unit is units[unit_code]], notify=False,
        )
        created.append(series)
    coffee, thursday, _, _ = created
    # Held online during the 2021 lockdown in Ho Chi Minh City, then back in the hall.
    for day in (date(2021, 7, 26), date(2021, 8, 30)):
        scheduling_services.change_occurrence(coffee, day, status="cancelled", notify=False, past_allowed=True)
    scheduling_services.change_occurrence(
        coffee, date(2026, 2, 23), start=datetime(2026, 2, 24, 14, 0, tzinfo=HANOI),
        location="Phòng họp số 2, Chi cục Hải quan Khu công nghệ cao", notify=False, past_allowed=True,
    )
    scheduling_services.change_occurrence(thursday, date(2025, 12, 25), status="cancelled", notify=False,
                                          past_allowed=True)

    # The coffee mornings of the last twelve months became meetings: attendance and minutes hang on them.
    today = datetime.now(HANOI)
    for occurrence in scheduling_services.occurrences(coffee, today - timedelta(days=366), today):
        if occurrence.status != "cancelled":
            meeting, _ = scheduling_services.meeting_for(coffee, occurrence.occurrence)
            db.session.flush()
            _seed_attendance(meeting, coffee.invitees)
    scheduling_services.create_meeting(
        title="Hội nghị chuyên đề: Quy tắc xuất xứ hàng hóa trong EVFTA và CPTPP", unit=units["HCM"],
        start=datetime(2026, 12, 10, 8, 30, tzinfo=HANOI), duration_minutes=180,
        location="Hội trường Cục Hải quan TP. Hồ Chí Minh, 2 Hàm Nghi, Quận 1", kind="thematic",
    )
    scheduling_services.create_meeting(
        title="Làm việc tại trụ sở Công ty Cổ phần Cảng biển Bãi Cháy", unit=units["QN-HG"],
        start=datetime(2026, 12, 3, 14, 0, tzinfo=HANOI), duration_minutes=120,
        location="Số 8 Đường Cái Lân, Phường Bãi Cháy, TP. Hạ Long", kind="visit",
    )


ISSUES = [
    # topic, title, description, resolution, legal basis
    ("tariff", "Vướng mắc áp mã HS cho linh kiện bán dẫn nhập khẩu",
     "Doanh nghiệp nhập khẩu vi mạch tích hợp dùng cho bo mạch điều khiển, chưa thống nhất giữa nhóm 85.42 và 85.43.",
     "Hàng hóa là vi mạch điện tử tích hợp, phân loại vào nhóm 85.42, mã 8542.31.00.",
     "Thông tư 31/2022/TT-BTC; Chú giải pháp lý Chương 85"),
    ("valuation", "Xác định trị giá hải quan đối với phí bản quyền phần mềm",
     "Hợp đồng mua thiết bị có điều khoản phí bản quyền phần mềm điều khiển trả riêng cho bên bán.",
     "Phí bản quyền là điều kiện mua bán hàng hóa nên phải cộng vào trị giá hải quan.",
     "Thông tư 39/2015/TT-BTC, Điều 13"),
    ("origin", "C/O mẫu D có sai sót nhỏ về mô tả hàng hóa",
     "C/O mẫu D ghi mô tả hàng hóa không khớp hoàn toàn với hóa đơn thương mại.",
     "Sai sót nhỏ không làm thay đổi xuất xứ hàng hóa thì vẫn chấp nhận C/O.",
     "Thông tư 33/2023/TT-BTC, Điều 19"),
    ("procedure", "Thủ tục thanh khoản máy móc tạm nhập tái xuất",
     "Doanh nghiệp cần hướng dẫn hồ sơ tái xuất máy móc thiết bị tạm nhập để bảo hành.",
     "Doanh nghiệp nộp tờ khai tái xuất kèm tờ khai tạm nhập; thời hạn tạm nhập theo hợp đồng.",
     "Nghị định 08/2015/NĐ-CP; Thông tư 38/2015/TT-BTC"),
    ("it", "Hệ thống VNACCS báo lỗi khi khai tờ khai sửa đổi",
     "Khai báo sửa đổi tờ khai nhập khẩu nhận thông báo lỗi E1003 nhiều lần.",
     "Lỗi do chứng thư số hết hạn; doanh nghiệp gia hạn chứng thư số và khai lại.", ""),
    ("inspection", "Kiểm tra chất lượng nhà nước đối với thiết bị y tế",
     "Lô thiết bị y tế chờ kết quả kiểm tra chuyên ngành đã quá 10 ngày.",
     "Chi cục đã phối hợp với cơ quan kiểm tra chuyên ngành; kết quả đã có, doanh nghiệp được thông quan.",
     "Nghị định 98/2021/NĐ-CP"),
    ("refund", "Hồ sơ hoàn thuế nguyên liệu sản xuất xuất khẩu chậm giải quyết",
     "Hồ sơ hoàn thuế nộp từ tháng trước chưa có kết quả.",
     "Hồ sơ thuộc diện kiểm tra trước hoàn thuế; Chi cục đã có quyết định hoàn thuế.",
     "Nghị định 134/2016/NĐ-CP, Điều 36"),
    ("bonded", "Thời hạn lưu giữ hàng hóa trong kho ngoại quan",
     "Hàng gửi kho ngoại quan sắp hết thời hạn 12 tháng, doanh nghiệp đề nghị gia hạn.",
     "Được gia hạn một lần không quá 12 tháng theo đề nghị của chủ hàng.",
     "Luật Hải quan 2014, Điều 62"),
    ("procedure", "Thời gian kiểm hóa hàng container lạnh kéo dài",
     "Container hàng đông lạnh phải chờ kiểm hóa ngoài giờ hành chính.", "", ""),
    ("policy", "Đề nghị hướng dẫn chính sách thuế đối với hàng gia công",
     "Doanh nghiệp đề nghị hướng dẫn việc miễn thuế nguyên liệu nhập khẩu để gia công cho thương nhân nước ngoài.",
     "Nguyên liệu nhập khẩu để gia công được miễn thuế nhập khẩu.",
     "Luật Thuế xuất khẩu, thuế nhập khẩu 2016, Điều 16"),
    ("conduct", "Phản ánh thái độ công chức tại bộ phận tiếp nhận hồ sơ",
     "Công chức tiếp nhận hồ sơ không hướng dẫn đầy đủ, yêu cầu nộp lại nhiều lần.", "", ""),
]


def _seed_issues(units, businesses, users) -> None:
    """A year of issues across the branches: most answered and rated, some overdue, one escalated."""
    if not db.session.execute(db.select(Topic)).first():  # a schema made without the migrations
        db.session.add_all(Topic(**row) for row in default_topic_rows())
        db.session.flush()
    topics = {t.code: t for t in db.session.execute(db.select(Topic)).scalars()}
    officers = {
        "HCM-KCNC": users[f"canbo.kcnc@{DEMO_DOMAIN}"],
        "QN-HG": users[f"canbo.hongai@{DEMO_DOMAIN}"],
    }
    manager = users[f"lanhdao.hcm@{DEMO_DOMAIN}"]
    rng = random.Random(2026)
    channels = ["meeting", "phone", "email", "zalo", "fanpage", "counter", "visit", "web"]
    now = utcnow()
    today = now.astimezone(HANOI).date()
    served = [b for b in businesses if b.unit.code in officers]
    # Every business served has an account for its own issues (only the first one's password is printed).
    business_accounts = {u.business_id: u for u in users.values() if u.business_id}
    for business in served:
        if business.id not in business_accounts:
            business_accounts[business.id] = auth_services.create_user(
                email=f"tai-khoan@dn{businesses.index(business) + 1:02d}.{DEMO_DOMAIN}",
                name=business.contacts[0].name,
                password=secrets.token_urlsafe(12), role="business", business=business)
    for index in range(48):
        topic_code, title, description, resolution, legal_basis = ISSUES[index % len(ISSUES)]
        business = served[index % len(served)]
        officer = officers[business.unit.code]
        raised_at = now - timedelta(days=int(365 * (48 - index) / 48) + 1)
        issue = issue_services.create_issue(
            title=title, description=description, business=business, channel=rng.choice(channels),
            topic=topics[topic_code], unit=business.unit, actor=officer, raised_by_name=business.contacts[0].name,
        )
        issue.created_at = raised_at
        due = raised_at.astimezone(HANOI).date() + timedelta(days=14)
        stage = "answered" if resolution and index < 40 else ("overdue" if index % 3 else "escalated")
        if issue.topic.sensitive:
            # A complaint about an officer's conduct is handled by a manager who reads it (its branch's
            # organisers may not): the first of them takes it, or it waits, new, where there is none.
            db.session.flush()
            handler = next(iter(issue_services.officers_for(issue)), None)
            officer, stage = (handler, stage) if handler is not None else (officer, "new")
        # Each step through the workflow, as staff take it, so that every issue's history tells how it got
        # where it is (only the dates are moved back to when it was raised).
        if stage == "escalated":
            issue_services.transition(issue, to="escalated", actor=officer, note="Vượt thẩm quyền của Chi cục.")
        elif stage != "new":
            issue_services.transition(issue, to="assigned", actor=officer, assignee=officer,
                                      due_date=today + timedelta(days=14))
            issue_services.transition(issue, to="in_progress", actor=officer)
            # A due date in the past, which the form refuses for a new assignment: this one was made back then.
            issue.due_date = today - timedelta(days=2) if stage == "overdue" and due >= today else due
        if stage == "answered":
            issue_services.transition(issue, to="answered", actor=officer, resolution=resolution,
                                      legal_basis=legal_basis)
            issue_services.record_answer_time(issue, raised_at + timedelta(days=rng.randint(2, 12)))
            if index % 4 != 3:
                issue_services.transition(issue, to="closed", actor=officer)
            if index % 5 != 4:
                db.session.flush()
                issue_services.rate(issue, user=business_accounts[business.id],
                                    score=rng.choice([3, 4, 4, 5, 5, 5]), comment="Câu trả lời rõ ràng, kịp thời.")
        for event in issue.events:
            event.at = raised_at
        if index in (2, 6):
            issue_services.publish(issue, actor=manager,
                                   question=f"Doanh nghiệp hỏi: {description}", answer=resolution)

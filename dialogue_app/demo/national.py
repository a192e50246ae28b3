"""The national demo: the whole customs service over five years, for trying Dialogue at its real size.

The General Department, 35 Departments named after their provinces, 200 branches, 50,000 businesses with
valid tax codes, a monthly "Cà phê sáng cùng doanh nghiệp" at every branch with its attendance, contacts
outside meetings, 300,000 issues followed to their answers and ratings, and each branch's annual plans.
Names of businesses and people are invented.

Written in bulk, below the ORM (the services would take hours at this size: see _Builder._write), so
everything the services and the flush hooks would have written alongside is written here too: search text,
unit paths, calendar feed keys, due dates and answer times in working days. The audit trail is not: nobody
made these changes. Deterministic for a given seed, with dates counted back from the day it runs.
"""

import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, update
from werkzeug.security import generate_password_hash

from ..attendance.models import Attendee
from ..auth import services as auth_services
from ..auth.models import User
from ..calendar.models import FeedToken
from ..calendar.services import first_feed_key
from ..db import utcnow
from ..extensions import db
from ..issues.models import Issue, IssueEvent, Rating, Topic
from ..issues.topics import default_topic_rows
from ..officetime import DEFAULT_ZONE
from ..officetime.days import HolidayCalendar, build_calendar
from ..org.models import Business, Contact, Interaction, Unit
from ..org.taxcode import check_digit
from ..reports.models import UnitPlan
from ..scheduling.models import Meeting, OccurrenceOverride, Series, series_invitations
from ..scheduling.recurrence import HolidayPolicy, Status, expand, normalize_rule, rule_for
from ..text import fold

DEMO_DOMAIN = "dialogue-demo.vn"
ZONE = ZoneInfo(DEFAULT_ZONE)
BATCH = 10_000


@dataclass(frozen=True)
class NationalSizes:
    """How much to build: the defaults are the national scale; a test builds a few hundred rows instead."""

    departments: int = 35
    branches: int = 200
    businesses: int = 50_000
    years: int = 5
    issues: int = 300_000
    seed: int = 2026


class DatabaseNotEmpty(RuntimeError):
    """The national demo is only built into a database without units."""


# A stage's progress bar: called with a label and a length, it gives a context manager whose value has
# update(n) (click.progressbar fits).
Progress = Callable[[str, int], AbstractContextManager[Any]]


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _no_progress(label: str, length: int) -> AbstractContextManager[Any]:
    return nullcontext(_NoBar())


# -- The service -----------------------------------------------------------------------------------------------

# code, province as the Department's name says it, tax-code prefix of the province, share of the trade,
# the branches' names after "Chi cục Hải quan ".
DEPARTMENTS = [
    ("HCM", "TP. Hồ Chí Minh", "03", 4.0, [
        "Khu công nghệ cao", "cửa khẩu cảng Sài Gòn khu vực I", "cửa khẩu cảng Sài Gòn khu vực II",
        "cửa khẩu cảng Sài Gòn khu vực III", "cửa khẩu cảng Sài Gòn khu vực IV",
        "cửa khẩu sân bay quốc tế Tân Sơn Nhất", "Khu chế xuất Tân Thuận", "quản lý hàng đầu tư"]),
    ("HN", "Hà Nội", "01", 3.0, [
        "Bắc Hà Nội", "Gia Thụy", "Bắc Thăng Long", "cửa khẩu sân bay quốc tế Nội Bài",
        "ga đường sắt quốc tế Yên Viên", "quản lý hàng đầu tư gia công", "Hà Tây"]),
    ("QN", "Quảng Ninh", "57", 1.5, [
        "cửa khẩu quốc tế Móng Cái", "cửa khẩu cảng Hòn Gai", "cửa khẩu cảng Cái Lân", "cửa khẩu cảng Cẩm Phả",
        "cửa khẩu Bắc Phong Sinh", "cửa khẩu Hoành Mô", "Vạn Gia"]),
    ("HP", "TP. Hải Phòng", "02", 2.5, [
        "cửa khẩu cảng Hải Phòng khu vực I", "cửa khẩu cảng Hải Phòng khu vực II",
        "cửa khẩu cảng Hải Phòng khu vực III", "cửa khẩu cảng Đình Vũ", "Khu chế xuất và Khu công nghiệp",
        "Hải Dương", "Thái Bình"]),
    ("DNG", "TP. Đà Nẵng", "04", 1.5, [
        "cửa khẩu cảng Đà Nẵng", "cửa khẩu sân bay quốc tế Đà Nẵng", "Khu công nghệ cao",
        "Khu công nghiệp Hòa Khánh – Liên Chiểu", "Khu công nghiệp Đà Nẵng", "quản lý hàng đầu tư – gia công"]),
    ("BD", "Bình Dương", "37", 2.0, [
        "Sóng Thần", "Mỹ Phước", "Khu công nghiệp Việt Nam – Singapore", "Khu công nghiệp Việt Hương",
        "quản lý hàng xuất nhập khẩu ngoài khu công nghiệp", "Thủ Dầu Một"]),
    ("DN", "Đồng Nai", "36", 2.0, [
        "Biên Hòa", "Nhơn Trạch", "Long Thành", "Thống Nhất", "Long Bình Tân", "Bình Thuận",
        "Khu chế xuất Long Bình"]),
    ("BN", "Bắc Ninh", "23", 1.8, [
        "Bắc Ninh", "Thái Nguyên", "Bắc Giang", "Vĩnh Phúc", "Yên Phong", "quản lý các khu công nghiệp Bắc Giang"]),
    ("BRVT", "Bà Rịa – Vũng Tàu", "35", 1.5, [
        "cửa khẩu cảng Cái Mép", "cửa khẩu cảng Phú Mỹ", "cửa khẩu cảng Cát Lở", "Côn Đảo",
        "cửa khẩu cảng Sân bay Vũng Tàu", "Khu công nghiệp Phú Mỹ"]),
    ("LS", "Lạng Sơn", "49", 1.2, [
        "cửa khẩu quốc tế Hữu Nghị", "cửa khẩu Chi Ma", "cửa khẩu ga đường sắt quốc tế Đồng Đăng",
        "cửa khẩu Tân Thanh", "Cốc Nam", "quản lý hàng đầu tư gia công và kinh doanh tổng hợp"]),
    ("LC", "Lào Cai", "53", 1.0, [
        "cửa khẩu quốc tế Lào Cai", "cửa khẩu ga đường sắt quốc tế Lào Cai", "cửa khẩu Bát Xát",
        "cửa khẩu Mường Khương", "Yên Bái", "Khu thương mại Kim Thành"]),
    ("CB", "Cao Bằng", "48", 0.6, [
        "cửa khẩu Tà Lùng", "cửa khẩu Trà Lĩnh", "cửa khẩu Sóc Giang", "cửa khẩu Pò Peo", "cửa khẩu Lý Vạn",
        "Bắc Kạn"]),
    ("HG", "Hà Giang", "51", 0.5, [
        "cửa khẩu quốc tế Thanh Thủy", "cửa khẩu Phó Bảng", "cửa khẩu Xín Mần", "cửa khẩu Săm Pun",
        "Tuyên Quang", "Hoàng Su Phì"]),
    ("DB", "Điện Biên", "56", 0.4, [
        "cửa khẩu quốc tế Tây Trang", "cửa khẩu Ma Lù Thàng", "Lai Châu", "cửa khẩu Huổi Puốc",
        "cửa khẩu A Pa Chải", "Mường Chà"]),
    ("SL", "Sơn La", "55", 0.5, [
        "cửa khẩu quốc tế Lóng Sập", "cửa khẩu Chiềng Khương", "Hòa Bình", "cửa khẩu Nà Cài", "Mộc Châu",
        "Sông Mã"]),
    ("TH", "Thanh Hóa", "28", 1.0, [
        "cửa khẩu cảng Nghi Sơn", "cửa khẩu quốc tế Na Mèo", "Ninh Bình", "Nam Định", "cửa khẩu Tén Tằn",
        "Khu công nghiệp Lễ Môn"]),
    ("NA", "Nghệ An", "29", 0.9, [
        "cửa khẩu cảng Cửa Lò", "cửa khẩu quốc tế Nậm Cắn", "cửa khẩu Thanh Thủy", "Vinh",
        "Khu kinh tế Đông Nam", "cửa khẩu sân bay Vinh"]),
    ("HT", "Hà Tĩnh", "30", 0.8, [
        "cửa khẩu quốc tế Cầu Treo", "cửa khẩu cảng Vũng Áng", "cửa khẩu cảng Xuân Hải", "Hồng Lĩnh",
        "Khu kinh tế cửa khẩu quốc tế Cầu Treo", "Kỳ Anh"]),
    ("QB", "Quảng Bình", "31", 0.5, [
        "cửa khẩu Cha Lo", "cửa khẩu Cà Ròong", "cửa khẩu cảng Hòn La", "Đồng Hới", "Khu kinh tế Hòn La",
        "Ba Đồn"]),
    ("QT", "Quảng Trị", "32", 0.5, [
        "cửa khẩu quốc tế Lao Bảo", "cửa khẩu La Lay", "cửa khẩu cảng Cửa Việt", "Đông Hà",
        "Khu thương mại Lao Bảo", "Hướng Hóa"]),
    ("TTH", "Thừa Thiên Huế", "33", 0.6, [
        "cửa khẩu cảng Chân Mây", "cửa khẩu A Đớt", "Thủy An", "cửa khẩu sân bay Phú Bài", "Hồng Vân",
        "Khu công nghiệp Phú Bài"]),
    ("QNA", "Quảng Nam", "40", 0.8, [
        "cửa khẩu cảng Kỳ Hà", "cửa khẩu Nam Giang", "Khu công nghiệp Điện Nam – Điện Ngọc", "Tam Kỳ", "Hội An",
        "Chu Lai"]),
    ("QNG", "Quảng Ngãi", "43", 0.7, [
        "cửa khẩu cảng Dung Quất", "Khu công nghiệp Quảng Ngãi", "Sa Kỳ", "Đức Phổ", "Bình Sơn",
        "VSIP Quảng Ngãi"]),
    ("BDI", "Bình Định", "41", 0.7, [
        "cửa khẩu cảng Quy Nhơn", "Phú Yên", "Nhơn Hội", "Phù Cát", "An Nhơn", "cửa khẩu cảng Vũng Rô"]),
    ("GLKT", "Gia Lai – Kon Tum", "59", 0.5, [
        "cửa khẩu quốc tế Lệ Thanh", "cửa khẩu quốc tế Bờ Y", "Kon Tum", "Pleiku", "Đức Cơ", "Ngọc Hồi"]),
    ("DL", "Đắk Lắk", "60", 0.5, [
        "Buôn Ma Thuột", "cửa khẩu Đắk Ruê", "cửa khẩu Bu Prăng", "Đắk Nông", "Lâm Đồng", "Ea Kar"]),
    ("KH", "Khánh Hòa", "42", 0.8, [
        "cửa khẩu cảng Nha Trang", "cửa khẩu sân bay quốc tế Cam Ranh", "cửa khẩu cảng Cam Ranh", "Vân Phong",
        "Ninh Thuận", "Khu kinh tế Vân Phong"]),
    ("BP", "Bình Phước", "38", 0.6, [
        "cửa khẩu quốc tế Hoa Lư", "cửa khẩu Hoàng Diệu", "Chơn Thành", "Đồng Xoài",
        "Khu kinh tế cửa khẩu Hoa Lư", "Lộc Ninh"]),
    ("TN", "Tây Ninh", "39", 0.8, [
        "cửa khẩu quốc tế Mộc Bài", "cửa khẩu quốc tế Xa Mát", "Khu công nghiệp Trảng Bàng",
        "cửa khẩu Phước Tân", "cửa khẩu Kà Tum", "Hòa Thành"]),
    ("LA", "Long An", "11", 1.0, [
        "cửa khẩu quốc tế Bình Hiệp", "cửa khẩu Mỹ Quý Tây", "Bến Lức", "Đức Hòa", "cửa khẩu cảng Mỹ Tho",
        "Hưng Điền"]),
    ("CT", "TP. Cần Thơ", "18", 0.8, [
        "cửa khẩu cảng Cần Thơ", "Vĩnh Long", "Sóc Trăng", "Trà Vinh", "Tây Đô", "Hậu Giang"]),
    ("DT", "Đồng Tháp", "14", 0.5, [
        "cửa khẩu quốc tế Thường Phước", "cửa khẩu Dinh Bà", "cửa khẩu cảng Đồng Tháp", "Sở Thượng",
        "Thông Bình", "Sa Đéc"]),
    ("AG", "An Giang", "16", 0.6, [
        "cửa khẩu quốc tế Tịnh Biên", "cửa khẩu Vĩnh Xương", "cửa khẩu Khánh Bình", "cửa khẩu Vĩnh Hội Đông",
        "cửa khẩu Bắc Đai", "Mỹ Thới"]),
    ("KG", "Kiên Giang", "17", 0.6, [
        "cửa khẩu quốc tế Hà Tiên", "cửa khẩu cảng Hòn Chông", "Phú Quốc", "cửa khẩu Giang Thành", "Rạch Giá",
        "Kiên Lương"]),
    ("CM", "Cà Mau", "20", 0.5, [
        "Cà Mau", "cửa khẩu cảng Năm Căn", "Bạc Liêu", "Khu công nghiệp Khánh An", "Sông Đốc", "Đầm Dơi"]),
]

SURNAMES = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 3 + ["Phạm"] * 2 + [
    "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh"]
MIDDLE_NAMES = ["Văn", "Thị", "Minh", "Đức", "Thanh", "Quốc", "Hoàng", "Ngọc", "Thu", "Hữu", "Xuân", "Anh",
                "Thế", "Kim", "Bảo"]
GIVEN_NAMES = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Huy", "Hương",
               "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phương", "Quang",
               "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trung", "Tuấn", "Vân", "Việt", "Yến", "Khoa",
               "Đạt", "Giang", "Thủy", "Tùng"]
POSITIONS = ["Giám đốc", "Phó Giám đốc", "Trưởng phòng Xuất nhập khẩu", "Nhân viên khai báo hải quan",
             "Kế toán trưởng", "Trưởng phòng Logistics", "Nhân viên chứng từ"]

FORMS = ["Công ty TNHH"] * 5 + ["Công ty Cổ phần"] * 3 + ["Công ty TNHH MTV", "Doanh nghiệp tư nhân"]
TRADES = ["Xuất nhập khẩu", "Thương mại và Dịch vụ", "Sản xuất", "Giao nhận Vận tải", "Logistics", "Điện tử",
          "Dệt may", "Thủy sản", "Nông sản", "Chế biến Gỗ", "Cơ khí", "Thực phẩm", "Hóa chất", "Dược phẩm",
          "Nhựa", "Bao bì", "Thép", "Da giày", "Cà phê", "Hạt điều", "Linh kiện", "Thiết bị Y tế",
          "Vật liệu Xây dựng", "Đại lý Hải quan", "Kho vận", "Năng lượng"]
BRANDS = ["Sao Việt", "Phương Nam", "Hòa Bình", "Thành Công", "Tân Phát", "Hưng Thịnh", "Minh Long", "An Phú",
          "Đại Dương", "Thái Bình Dương", "Hoàng Gia", "Bình Minh", "Trường Sơn", "Việt Á", "Đông Á", "Kim Long",
          "Phú Thịnh", "Vạn Xuân", "Hồng Hà", "Sông Hàn", "Tiến Đạt", "Nam Việt", "Thiên Phúc", "Quang Minh",
          "Gia Phát", "Lộc Phát", "Hải Âu", "Mê Kông", "Cửu Long", "Hùng Vương", "Bạch Đằng", "Thăng Long",
          "Ánh Dương", "Hoa Sen", "Sen Vàng", "Rồng Việt", "Phượng Hoàng", "Tràng An", "Đất Việt", "Trí Việt",
          "Nhật Minh", "Khải Hoàn", "Thịnh Vượng", "Đông Dương", "Tân Cảng", "Hợp Nhất", "Toàn Thắng",
          "Phúc Lộc", "Bắc Nam", "Trung Nguyên"]
QUALIFIERS = ["", "", "", "", "Xanh", "Quốc tế", "Toàn Cầu", "Việt Nam", "Miền Bắc", "Miền Nam", "Mới"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
           "Nguyễn Trãi", "Điện Biên Phủ", "Hùng Vương", "Lê Duẩn", "Trần Phú", "Nguyễn Văn Linh",
           "Võ Văn Kiệt", "Phạm Văn Đồng", "Hoàng Văn Thụ", "Nguyễn Tất Thành", "Cách Mạng Tháng Tám",
           "Lạc Long Quân", "Bạch Đằng", "Ngô Quyền"]

GOODS = ["linh kiện bán dẫn", "máy móc thiết bị đã qua sử dụng", "hạt điều thô", "cà phê nhân",
         "thủy sản đông lạnh", "vải dệt thoi", "phân bón", "thép cán nguội", "gỗ nguyên liệu", "thiết bị y tế",
         "hóa chất công nghiệp", "linh kiện ô tô", "trái cây tươi", "sợi polyester", "pin lithium",
         "dược phẩm", "thức ăn chăn nuôi", "hạt nhựa nguyên sinh", "giày dép", "đồ gỗ nội thất",
         "điện thoại di động", "tấm pin năng lượng mặt trời", "gạo", "cao su tự nhiên"]
CO_FORMS = ["D", "E", "AK", "VK", "EUR.1", "CPTPP"]

# topic code -> (title, description, resolution, legal basis); {goods} and {co} are filled in.
ISSUE_TEXTS: dict[str, list[tuple[str, str, str, str]]] = {
    "tariff": [
        ("Vướng mắc áp mã HS cho {goods}",
         "Doanh nghiệp nhập khẩu {goods}, chưa thống nhất mã số HS giữa tờ khai và kết quả phân tích phân loại.",
         "Căn cứ tính chất và công dụng, {goods} được phân loại theo kết quả phân tích; doanh nghiệp khai bổ sung "
         "theo mã số đã hướng dẫn.", "Thông tư 31/2022/TT-BTC; Thông tư 14/2015/TT-BTC"),
        ("Đề nghị xác định trước mã số đối với {goods}",
         "Doanh nghiệp dự kiến nhập khẩu {goods} và đề nghị hướng dẫn thủ tục xác định trước mã số.",
         "Doanh nghiệp nộp hồ sơ xác định trước mã số kèm tài liệu kỹ thuật; thời hạn trả lời là 30 ngày.",
         "Nghị định 08/2015/NĐ-CP, Điều 24"),
    ],
    "valuation": [
        ("Xác định trị giá hải quan đối với {goods} có phí bản quyền",
         "Hợp đồng mua {goods} có điều khoản phí bản quyền trả riêng cho bên bán.",
         "Phí bản quyền là điều kiện mua bán hàng hóa nên phải cộng vào trị giá hải quan.",
         "Thông tư 39/2015/TT-BTC, Điều 13"),
        ("Tham vấn trị giá lô hàng {goods}",
         "Lô hàng {goods} bị nghi vấn trị giá khai báo; doanh nghiệp đề nghị hướng dẫn hồ sơ tham vấn.",
         "Doanh nghiệp cung cấp hợp đồng và chứng từ thanh toán; trị giá khai báo được chấp nhận sau tham vấn.",
         "Thông tư 39/2015/TT-BTC, Điều 25"),
    ],
    "origin": [
        ("C/O mẫu {co} của lô {goods} có sai sót nhỏ",
         "C/O mẫu {co} ghi mô tả hàng hóa không khớp hoàn toàn với hóa đơn thương mại của lô {goods}.",
         "Sai sót nhỏ không làm thay đổi xuất xứ hàng hóa thì vẫn chấp nhận C/O.",
         "Thông tư 33/2023/TT-BTC, Điều 19"),
        ("Nộp bổ sung C/O mẫu {co} sau khi thông quan {goods}",
         "Tại thời điểm làm thủ tục chưa có C/O mẫu {co}; doanh nghiệp hỏi cách nộp bổ sung để hưởng ưu đãi.",
         "Doanh nghiệp khai chậm nộp C/O trên tờ khai và nộp bổ sung trong thời hạn một năm để được áp thuế "
         "ưu đãi đặc biệt.", "Thông tư 33/2023/TT-BTC, Điều 10"),
    ],
    "procedure": [
        ("Thủ tục tạm nhập tái xuất {goods}",
         "Doanh nghiệp cần hướng dẫn hồ sơ tái xuất {goods} tạm nhập để bảo hành, sửa chữa.",
         "Doanh nghiệp nộp tờ khai tái xuất kèm tờ khai tạm nhập; thời hạn tạm nhập theo hợp đồng.",
         "Nghị định 08/2015/NĐ-CP; Thông tư 38/2015/TT-BTC"),
        ("Thời gian kiểm hóa {goods} kéo dài",
         "Lô hàng {goods} phải chờ kiểm hóa ngoài giờ hành chính, phát sinh chi phí lưu container.",
         "Chi cục đã bố trí kiểm hóa ngoài giờ theo đăng ký trước của doanh nghiệp.",
         "Luật Hải quan 2014, Điều 23"),
        ("Hồ sơ hải quan đối với {goods} nhập khẩu để gia công",
         "Doanh nghiệp đề nghị hướng dẫn thông báo cơ sở gia công và định mức đối với {goods}.",
         "Doanh nghiệp thông báo cơ sở gia công trước khi nhập khẩu và báo cáo quyết toán hằng năm.",
         "Thông tư 39/2018/TT-BTC"),
    ],
    "it": [
        ("Hệ thống VNACCS báo lỗi khi khai tờ khai {goods}",
         "Khai báo sửa đổi tờ khai nhập khẩu {goods} nhận thông báo lỗi E1003 nhiều lần.",
         "Lỗi do chứng thư số hết hạn; doanh nghiệp gia hạn chứng thư số và khai lại.", ""),
        ("Không nộp được chứng từ trên Cổng thông tin một cửa quốc gia",
         "Tệp chứng từ kèm hồ sơ {goods} bị từ chối do vượt dung lượng cho phép.",
         "Doanh nghiệp nén tệp hoặc tách thành nhiều tệp dưới 2 MB; hệ thống đã được nâng cấp.", ""),
    ],
    "inspection": [
        ("Kiểm tra chuyên ngành đối với {goods} chậm có kết quả",
         "Lô {goods} chờ kết quả kiểm tra chuyên ngành đã quá 10 ngày.",
         "Chi cục đã phối hợp với cơ quan kiểm tra chuyên ngành; kết quả đã có, doanh nghiệp được thông quan.",
         "Nghị định 98/2021/NĐ-CP"),
        ("Đưa {goods} về bảo quản trong khi chờ kiểm tra",
         "Doanh nghiệp đề nghị được đưa lô {goods} về kho riêng để bảo quản trong thời gian chờ kết quả.",
         "Hàng được đưa về bảo quản khi có kho đáp ứng điều kiện; doanh nghiệp chịu trách nhiệm giữ nguyên trạng.",
         "Nghị định 59/2018/NĐ-CP, Điều 32"),
    ],
    "refund": [
        ("Hồ sơ hoàn thuế nguyên liệu {goods} chậm giải quyết",
         "Hồ sơ hoàn thuế nguyên liệu {goods} nộp từ tháng trước chưa có kết quả.",
         "Hồ sơ thuộc diện kiểm tra trước hoàn thuế; Chi cục đã có quyết định hoàn thuế.",
         "Nghị định 134/2016/NĐ-CP, Điều 36"),
    ],
    "bonded": [
        ("Gia hạn thời gian lưu giữ {goods} trong kho ngoại quan",
         "Lô {goods} gửi kho ngoại quan sắp hết thời hạn 12 tháng, doanh nghiệp đề nghị gia hạn.",
         "Được gia hạn một lần không quá 12 tháng theo đề nghị của chủ hàng.", "Luật Hải quan 2014, Điều 62"),
    ],
    "conduct": [
        ("Phản ánh thái độ công chức tại bộ phận tiếp nhận hồ sơ",
         "Công chức tiếp nhận hồ sơ không hướng dẫn đầy đủ, yêu cầu nộp lại nhiều lần.",
         "Chi cục đã kiểm tra, nhắc nhở công chức và hướng dẫn lại doanh nghiệp đầy đủ một lần.",
         "Quyết định 1299/QĐ-TCHQ"),
    ],
    "policy": [
        ("Đề nghị hướng dẫn chính sách thuế đối với {goods} nhập khẩu để gia công",
         "Doanh nghiệp đề nghị hướng dẫn việc miễn thuế {goods} nhập khẩu để gia công cho thương nhân nước ngoài.",
         "Nguyên liệu nhập khẩu để gia công được miễn thuế nhập khẩu.",
         "Luật Thuế xuất khẩu, thuế nhập khẩu 2016, Điều 16"),
        ("Kiến nghị rút {goods} khỏi danh mục kiểm tra chuyên ngành",
         "Doanh nghiệp kiến nghị xem xét lại việc kiểm tra chuyên ngành trùng lặp đối với {goods}.",
         "Kiến nghị đã được tổng hợp, báo cáo Tổng cục để đề xuất với bộ quản lý chuyên ngành.", ""),
    ],
    "other": [
        ("Đề nghị bố trí thêm chỗ đỗ xe container tại khu vực giám sát",
         "Xe chở {goods} phải xếp hàng dài chờ vào khu vực giám sát hải quan.",
         "Chi cục đã phối hợp với doanh nghiệp kinh doanh cảng mở thêm bãi chờ.", ""),
    ],
}
# How often each topic comes up, by code; a topic an admin added counts as a middling one.
TOPIC_WEIGHTS = {"procedure": 22, "tariff": 16, "it": 12, "valuation": 9, "origin": 9, "inspection": 8,
                 "refund": 7, "policy": 7, "bonded": 4, "conduct": 1.5, "other": 4}
CHANNEL_WEIGHTS = {"meeting": 15, "phone": 15, "email": 15, "zalo": 10, "fanpage": 5, "counter": 15, "visit": 5,
                   "web": 20}
RATING_COMMENTS = ["", "", "", "Câu trả lời rõ ràng, kịp thời.", "Cảm ơn Chi cục đã hỗ trợ.",
                   "Hướng dẫn đầy đủ, dễ thực hiện.", "Trả lời hơi chậm."]
INTERACTION_TEXTS = {
    "visit": ["Làm việc tại trụ sở doanh nghiệp, nắm tình hình xuất nhập khẩu và vướng mắc thủ tục.",
              "Khảo sát kho bãi của doanh nghiệp trước khi công nhận địa điểm kiểm tra."],
    "phone": ["Gọi điện hướng dẫn doanh nghiệp khai bổ sung tờ khai.",
              "Doanh nghiệp gọi hỏi về thời hạn nộp C/O."],
    "email": ["Trả lời thư của doanh nghiệp về hồ sơ hoàn thuế.", "Gửi doanh nghiệp văn bản hướng dẫn mới."],
    "zalo": ["Trao đổi qua Zalo về lịch kiểm hóa.", "Nhắc doanh nghiệp đăng ký tham dự buổi đối thoại."],
    "fanpage": ["Trả lời câu hỏi của doanh nghiệp trên fanpage của Chi cục."],
    "counter": ["Tiếp doanh nghiệp tại bộ phận một cửa.", "Hướng dẫn doanh nghiệp hoàn thiện hồ sơ tại quầy."],
}
INTERACTION_WEIGHTS = {"visit": 20, "phone": 35, "email": 15, "zalo": 15, "fanpage": 5, "counter": 10}

SERIES_TITLE = "Cà phê sáng cùng doanh nghiệp"
SERIES_RULE = "FREQ=MONTHLY;BYDAY=-1MO"
SERIES_DESCRIPTION = "Lãnh đạo Chi cục trao đổi, tháo gỡ vướng mắc về thủ tục hải quan cho doanh nghiệp."
SERIES_MINUTES = 120
ESCALATION_NOTE = "Vượt thẩm quyền của Chi cục."


# -- Building ----------------------------------------------------------------------------------------------------

def seed_national(sizes: NationalSizes = NationalSizes(), *, password: str | None = None,
                  progress: Progress | None = None) -> list[tuple[str, str, str]]:
    """Build the national demo into a database without units; returns the accounts (role, email, password).

    Nothing is committed: the caller commits. Raises DatabaseNotEmpty when units exist.
    """
    if db.session.execute(select(func.count()).select_from(Unit)).scalar_one():
        raise DatabaseNotEmpty("The database already has data: the demo is only added to an empty database.")
    return _Builder(sizes, password, progress or _no_progress).build()


@dataclass
class _Branch:
    id: int
    code: str
    name: str
    department_id: int
    province: str
    businesses: list[int]
    officer_id: int = 0
    officer_label: str = ""
    series_id: int = 0
    invited: list[int] | None = None
    held: list[tuple[datetime, int]] | None = None  # (start, meeting id) of meetings held, by start


@dataclass
class _Business:
    id: int
    branch: _Branch
    name: str
    contact: tuple[int, str, str, str] | None  # id, name, phone, position of the first contact


class _Builder:
    def __init__(self, sizes: NationalSizes, password: str | None, progress: Progress):
        self.sizes, self.password, self.progress = sizes, password, progress
        self.rng = Random(sizes.seed)
        self.now = utcnow().replace(microsecond=0)
        self.today = self.now.astimezone(ZONE).date()
        first = self.today.replace(day=1).replace(year=self.today.year - sizes.years)
        self.start_day = first  # the first day of the month, `years` years ago
        self.window_start = datetime.combine(first, time(), ZONE).astimezone(UTC)
        self.calendar: HolidayCalendar = build_calendar(range(first.year - 1, self.today.year + 3))
        self.add_workdays = lru_cache(maxsize=None)(self.calendar.add_workdays)
        self.workdays_between = lru_cache(maxsize=None)(self.calendar.workdays_between)
        self.feed_key = _feed_key_maker()
        self.departments: list[tuple[int, str, str]] = []  # id, code, province
        self.branches: list[_Branch] = []
        self.businesses: list[_Business] = []
        self.officers: dict[int, tuple[int, str]] = {}  # unit id -> (user id, label)
        self.accounts: list[tuple[str, str, str]] = []

    # -- helpers

    def _next_id(self, model) -> int:
        return (db.session.execute(select(func.max(model.id))).scalar_one() or 0) + 1

    def _insert(self, model_or_table, rows: Iterable[dict], bar=None) -> int:
        """Write `rows` (dicts with the same keys) in batches; returns how many."""
        table = getattr(model_or_table, "__table__", model_or_table)
        batch, count = [], 0
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self._write(table, batch)
                count += len(batch)
                if bar is not None:
                    bar.update(len(batch))
                batch = []
        if batch:
            self._write(table, batch)
            count += len(batch)
            if bar is not None:
                bar.update(len(batch))
        return count

    def _write(self, table, rows: list[dict]) -> None:
        """One batch, below SQLAlchemy's per-row statement handling, which costs more than the database's own
        work at this size: the values go through the columns' own bind processors (UTC instants, JSON, dates
        as SQLAlchemy stores them) and then to the driver, as COPY on PostgreSQL and executemany on SQLite."""
        connection = db.session.connection()
        dialect = connection.dialect
        names = list(rows[0])
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        pairs = list(zip(names, processors, strict=True))
        values = [tuple(p(row[n]) if p is not None else row[n] for n, p in pairs) for row in rows]
        quote = dialect.identifier_preparer.quote
        columns = ", ".join(quote(name) for name in names)
        if dialect.name == "postgresql":
            raw = connection.connection.dbapi_connection
            with raw.cursor() as cursor, cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join("?" for _ in names)
            connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})",  # noqa: S608
                                       values)

    @contextmanager
    def _checked_and_indexed_at_the_end(self, *models) -> Iterator[None]:
        """Fill these tables without their secondary indexes (and, on PostgreSQL, foreign keys), then build
        each index in one sorted pass and check each foreign key with one query.

        Row by row, every insert updates every index at a random place and PostgreSQL looks up every
        reference of every row: most of the time the big tables take. Indexes and constraints are put back
        exactly as they were (names and definitions read from the catalogue), all in the one transaction,
        so a failure leaves the schema as it was.
        """
        connection = db.session.connection()
        postgres = connection.dialect.name == "postgresql"
        keys, indexes = [], []
        for model in models:
            table = model.__tablename__
            if postgres:
                keys += [(table, name, definition) for name, definition in db.session.execute(text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"), {"t": table})]
                # Not the indexes behind a primary key or unique constraint: those stay.
                indexes += db.session.execute(text(
                    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass) "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                    "ORDER BY c.relname"), {"t": table}).all()
            else:
                # SQLite keeps the definition of every index made by CREATE INDEX (not of its automatic ones).
                indexes += db.session.execute(text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                    "AND sql IS NOT NULL ORDER BY name"), {"t": table}).all()
        for table, name, _ in keys:
            db.session.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            db.session.execute(text(f'DROP INDEX "{name}"'))
        yield
        for _, definition in indexes:
            db.session.execute(text(definition))
        for table, name, definition in keys:
            db.session.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))

    def _person(self) -> str:
        rng = self.rng
        surname = rng.choice(SURNAMES)
        middle = rng.choice(MIDDLE_NAMES)
        return f"{surname} {middle} {rng.choice(GIVEN_NAMES)}"

    def _local(self, day: date, minute_of_day: int) -> datetime:
        """An instant in UTC for a local date and minute of the day."""
        return datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), ZONE).astimezone(UTC)

    # -- stages

    def build(self) -> list[tuple[str, str, str]]:
        self._topics()
        self._units()
        self._businesses()
        self._staff()
        with self._checked_and_indexed_at_the_end(Attendee, Issue, IssueEvent, Rating):
            self._meetings()
            self._interactions()
            self._issues()
        self._plans()
        self._business_account()
        self._finish()
        return self.accounts

    def _topics(self) -> None:
        if not db.session.execute(select(Topic.id).limit(1)).first():  # a schema made without the migrations
            db.session.execute(insert(Topic.__table__), default_topic_rows())
        self.topics = list(db.session.execute(
            select(Topic.id, Topic.code, Topic.answer_days).where(Topic.active).order_by(Topic.position, Topic.id)
        ).all())
        self.topic_weights = [TOPIC_WEIGHTS.get(code, 5) for _, code, _ in self.topics]

    def _units(self) -> None:
        sizes, rng, now = self.sizes, self.rng, self.now
        chosen = DEPARTMENTS[: sizes.departments]
        if len(chosen) < sizes.departments:
            raise ValueError(f"at most {len(DEPARTMENTS)} departments")
        per, extra = divmod(sizes.branches, len(chosen))
        next_id = self._next_id(Unit)
        created = now - timedelta(days=365 * (sizes.years + 3))
        general_id = next_id
        rows = [{"id": general_id, "code": "TCHQ", "name": "Tổng cục Hải quan", "level": "general",
                 "parent_id": None, "path": f"/{general_id}/", "created_at": created, "updated_at": created}]
        unit_id = general_id
        self.weights: list[float] = []
        for index, (code, province, _, weight, places) in enumerate(chosen):
            unit_id += 1
            department_id = unit_id
            dept_path = f"/{general_id}/{department_id}/"
            rows.append({"id": department_id, "code": code, "name": f"Cục Hải quan {province}",
                         "level": "department", "parent_id": general_id, "path": dept_path,
                         "created_at": created, "updated_at": created})
            self.departments.append((department_id, code, province))
            codes: set[str] = set()
            for number in range(per + (index < extra)):
                unit_id += 1
                place = places[number] if number < len(places) else f"{province} số {number + 1}"
                short = _initials(place)
                branch_code = f"{code}-{short}"
                if branch_code in codes:
                    branch_code = f"{code}-{short}{number + 1}"
                codes.add(branch_code)
                name = f"Chi cục Hải quan {place}"
                rows.append({"id": unit_id, "code": branch_code, "name": name, "level": "branch",
                             "parent_id": department_id, "path": f"{dept_path}{unit_id}/",
                             "created_at": created, "updated_at": created})
                self.branches.append(_Branch(unit_id, branch_code, name, department_id, province, []))
                self.weights.append(weight * rng.uniform(0.6, 1.4))
        self.general_id = general_id
        self.unit_codes = {row["id"]: row["code"] for row in rows}
        self.prefixes = {department_id: prefix for (department_id, _, _), (_, _, prefix, _, _)
                         in zip(self.departments, chosen, strict=True)}
        with self.progress("Units", len(rows)) as bar:
            self._insert(Unit, rows, bar)
            self._sync_ids(Unit)
            self._insert(FeedToken, (self.feed_key("unit", row["id"]) for row in rows))

    def _businesses(self) -> None:
        sizes, rng, now = self.sizes, self.rng, self.now
        count = sizes.businesses
        # Every branch serves some businesses; the rest follow the branch's share of the trade.
        owners = [self.branches[i % len(self.branches)] for i in range(min(count, 8 * len(self.branches)))]
        owners += rng.choices(self.branches, weights=self.weights, k=count - len(owners))
        rng.shuffle(owners)
        serials = {prefix: rng.randrange(100_000, 1_000_000) for prefix in self.prefixes.values()}
        business_id, contact_id = self._next_id(Business), self._next_id(Contact)
        contacts: list[dict] = []

        def rows() -> Iterator[dict]:
            nonlocal business_id, contact_id
            for branch in owners:
                prefix = self.prefixes[branch.department_id]
                while True:
                    serials[prefix] += rng.randint(1, 97)
                    head = f"{prefix}{serials[prefix]:07d}"
                    digit = check_digit(head)
                    if digit is not None:
                        break
                tax_code = f"{head}{digit}"
                qualifier = rng.choice(QUALIFIERS)
                name = " ".join(part for part in (rng.choice(FORMS), rng.choice(TRADES), rng.choice(BRANDS),
                                                  qualifier) if part)
                address = (f"Số {rng.randint(1, 480)} {rng.choice(STREETS)}, Phường {rng.randint(1, 15)}, "
                           f"{branch.province}")
                created = now - timedelta(days=rng.randint(30, 365 * (sizes.years + 10)))
                first_contact = None
                if rng.random() < 0.4:  # a contact or two for some of them
                    for number in range(1 if rng.random() < 0.6 else 2):
                        person = self._person()
                        local = ".".join(fold(person).split()[-2:])
                        phone = f"09{rng.randrange(100_000_000):08d}"
                        position = rng.choice(POSITIONS)
                        contacts.append({
                            "id": contact_id, "business_id": business_id, "name": person,
                            "email": f"{local}{number or ''}@dn{business_id}.{DEMO_DOMAIN}", "phone": phone,
                            "position": position, "created_at": created,
                        })
                        if first_contact is None:
                            first_contact = (contact_id, person, phone, position)
                        contact_id += 1
                self.businesses.append(_Business(business_id, branch, name, first_contact))
                branch.businesses.append(business_id)
                yield {"id": business_id, "tax_code": tax_code, "name": name,
                       "search_text": f"{fold(name)} {tax_code}", "address": address, "unit_id": branch.id,
                       "created_at": created, "updated_at": created}
                business_id += 1

        with self.progress("Businesses", count) as bar:
            self._insert(Business, rows(), bar)
            self._insert(Contact, contacts)
            self._sync_ids(Business, Contact)
            self._insert(FeedToken, (self.feed_key("business", b.id) for b in self.businesses))
        self.business_by_id = {b.id: b for b in self.businesses}

    def _staff(self) -> None:
        """The printed accounts (made by the service, so they can sign in), then one officer per other unit."""
        department_id, department_code, _ = self.departments[0]
        branch = self.branches[0]
        units = {unit.id: unit for unit in db.session.execute(
            select(Unit).where(Unit.id.in_([self.general_id, department_id, branch.id]))).scalars()}
        wanted = [
            ("admin", f"admin@{DEMO_DOMAIN}", "Phạm Minh Khoa", None),
            ("manager", f"lanhdao.tchq@{DEMO_DOMAIN}", "Đỗ Thị Lan", units[self.general_id]),
            ("manager", f"lanhdao.{department_code.lower()}@{DEMO_DOMAIN}", "Trần Quốc Bảo", units[department_id]),
            ("organiser", f"canbo.{department_code.lower()}@{DEMO_DOMAIN}", "Lê Thu Hằng", units[department_id]),
            ("manager", f"lanhdao.{branch.code.lower()}@{DEMO_DOMAIN}", "Võ Thanh Tùng", units[branch.id]),
            ("organiser", f"canbo.{branch.code.lower()}@{DEMO_DOMAIN}", "Nguyễn Thị Mai", units[branch.id]),
        ]
        with self.progress("Accounts", len(wanted) + len(self.departments) + len(self.branches)) as bar:
            for role, email, name, unit in wanted:
                secret = self.password or secrets.token_urlsafe(9)
                user = auth_services.create_user(email=email, name=name, password=secret, role=role, unit=unit)
                db.session.flush()
                self.accounts.append((role, email, secret))
                if role == "organiser":
                    self.officers[unit.id] = (user.id, _actor_label(user.name, user.email))
                bar.update(1)
            # The other officers sign in with nobody's password: they are there to be assigned issues.
            unusable = generate_password_hash(secrets.token_urlsafe(24), method="scrypt")
            user_id, rows = self._next_id(User), []
            for unit_id, code in [(d, c) for d, c, _ in self.departments] + [(b.id, b.code) for b in self.branches]:
                if unit_id in self.officers:
                    continue
                name, email = self._person(), f"canbo.{code.lower()}@{DEMO_DOMAIN}"
                rows.append({"id": user_id, "email": email, "name": name, "password_hash": unusable,
                             "role": "organiser", "unit_id": unit_id, "business_id": None, "active": True,
                             "language": "vi", "created_at": self.now - timedelta(days=365 * self.sizes.years),
                             "last_login_at": None})
                self.officers[unit_id] = (user_id, _actor_label(name, email))
                user_id += 1
            self._insert(User, rows, bar)
            self._sync_ids(User)
            self._insert(FeedToken, (self.feed_key("user", row["id"]) for row in rows))
        for branch in self.branches:
            branch.officer_id, branch.officer_label = self.officers[branch.id]

    def _meetings(self) -> None:
        """Per branch one monthly series, its meetings up to today with attendance, a few cancelled."""
        rng, now = self.rng, self.now
        rule_text = normalize_rule(SERIES_RULE)
        first_start = _first_last_monday(self.start_day)
        rule = rule_for(rule_text, first_start, ZONE.key)
        # Every branch's series has the same rule and start: the dates are worked out once.
        held_dates = expand(rule, ZONE, timedelta(minutes=SERIES_MINUTES), self.calendar,
                            HolidayPolicy.NEXT_WORKDAY, {}, self.window_start, now)
        series_id, meeting_id = self._next_id(Series), self._next_id(Meeting)
        series_rows, invitations, overrides, meetings, attendees = [], [], [], [], []
        created = self.window_start - timedelta(days=20)
        self.meeting_attendees: dict[int, list[int]] = {}
        with self.progress("Dialogues", len(self.branches)) as bar:
            for branch in self.branches:
                branch.series_id = series_id
                size = min(len(branch.businesses), rng.randint(40, 80))
                branch.invited = rng.sample(branch.businesses, size)
                invitations += [{"series_id": series_id, "business_id": b} for b in branch.invited]
                location = f"Hội trường {branch.name}"
                branch.held = []
                cancelled_count = 0
                for occurrence in held_dates:
                    status = occurrence.status.value
                    if rng.random() < 0.05:
                        status = Status.CANCELLED.value
                        cancelled_count += 1
                        overrides.append({"series_id": series_id, "occurrence": occurrence.occurrence,
                                          "start": None, "location": None, "cancelled": True, "sequence": 1,
                                          "updated_at": occurrence.start - timedelta(days=3)})
                    made = occurrence.start - timedelta(days=14)
                    meetings.append({
                        "id": meeting_id, "series_id": series_id, "occurrence": occurrence.occurrence,
                        "title": SERIES_TITLE, "kind": "dialogue", "unit_id": branch.id,
                        "start": occurrence.start, "end": occurrence.end, "location": location, "status": status,
                        "created_at": made, "updated_at": made,
                    })
                    if status != Status.CANCELLED.value:
                        present = rng.sample(branch.invited, min(len(branch.invited), rng.randint(4, 8)))
                        self.meeting_attendees[meeting_id] = present
                        branch.held.append((occurrence.start.astimezone(UTC), meeting_id))
                        for business_id in present:
                            attendees.append(self._attendee(meeting_id, business_id, occurrence.start))
                    meeting_id += 1
                series_rows.append({
                    "id": series_id, "title": SERIES_TITLE, "kind": "dialogue", "unit_id": branch.id,
                    "location": location, "description": SERIES_DESCRIPTION, "rule": rule_text,
                    "first_start": first_start, "timezone": ZONE.key, "duration_minutes": SERIES_MINUTES,
                    "holiday_policy": HolidayPolicy.NEXT_WORKDAY.value, "previous_id": None, "sequence": 0,
                    "revision": 1 + cancelled_count, "created_at": created, "updated_at": created,
                })
                series_id += 1
                bar.update(1)
            self._insert(Series, series_rows)
            self._insert(series_invitations, invitations)
            self._insert(OccurrenceOverride, overrides)
            self._insert(Meeting, meetings)
            self._sync_ids(Series, Meeting)
            self._insert(Attendee, attendees)
            self._insert(FeedToken, (self.feed_key("series", row["id"]) for row in series_rows))

    def _attendee(self, meeting_id: int, business_id: int, start: datetime) -> dict:
        business = self.business_by_id[business_id]
        if business.contact is not None:
            contact_id, name, phone, position = business.contact
        else:
            contact_id, name, phone, position = None, self._person(), "", self.rng.choice(POSITIONS)
        checked_in = start + timedelta(minutes=self.rng.randint(-25, 10))
        return {"meeting_id": meeting_id, "contact_id": contact_id, "business_id": business_id, "user_id": None,
                "name": name, "organisation": business.name, "phone": phone, "role": position,
                "attendance": "present", "checked_in_at": checked_in, "created_at": checked_in}

    def _interactions(self) -> None:
        rng = self.rng
        channels, weights = list(INTERACTION_WEIGHTS), list(INTERACTION_WEIGHTS.values())
        span = (self.today - self.start_day).days
        rows = []
        for branch in self.branches:
            for _ in range(self.sizes.years * rng.randint(8, 24)):
                channel = rng.choices(channels, weights)[0]
                day = self.start_day + timedelta(days=rng.randrange(span + 1))
                rows.append({"business_id": rng.choice(branch.businesses), "unit_id": branch.id,
                             "officer_id": branch.officer_id, "channel": channel, "happened_on": day,
                             "summary": rng.choice(INTERACTION_TEXTS[channel]),
                             "created_at": min(self._local(day, 16 * 60 + rng.randrange(90)), self.now)})
        with self.progress("Contacts outside meetings", len(rows)) as bar:
            self._insert(Interaction, rows, bar)

    def _issues(self) -> None:
        sizes, rng = self.sizes, self.rng
        channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
        span_minutes = int((self.now - self.window_start).total_seconds() // 60)
        department_of = {b.id: b.department_id for b in self.branches}
        # A handful of answers published per Department, picked along the way.
        expected_done = max(1, sizes.issues * 0.8 / max(1, len(self.departments)))
        publish_chance, published = 5 / expected_done, dict.fromkeys(department_of.values(), 0)
        issues, events, ratings = [], [], []
        self.issue_count_by_business: dict[int, int] = {}
        issue_id = self._next_id(Issue)

        def flush(bar) -> None:
            # The issues first: their events and ratings refer to them.
            bar.update(len(issues))
            for model, rows in ((Issue, issues), (IssueEvent, events), (Rating, ratings)):
                self._insert(model, rows)
                rows.clear()

        with self.progress("Issues", sizes.issues) as bar:
            for _ in range(sizes.issues):
                channel = rng.choices(channels, channel_weights)[0]
                business = self.businesses[rng.randrange(len(self.businesses))]
                branch = business.branch
                meeting_id = None
                if channel == "meeting" and branch.held:
                    start, meeting_id = branch.held[rng.randrange(len(branch.held))]
                    business = self.business_by_id[rng.choice(self.meeting_attendees[meeting_id])]
                    created = min(start + timedelta(minutes=rng.randint(30, 110)), self.now)
                else:
                    if channel == "meeting":
                        channel = "counter"
                    created = self.window_start + timedelta(minutes=rng.randrange(span_minutes))
                    # Raised in office hours mostly: keep the day, pick a time between 07:30 and 17:30.
                    local_day = created.astimezone(ZONE).date()
                    created = min(self._local(local_day, rng.randint(450, 1050)), self.now - timedelta(minutes=5))
                row, issue_events, rating = self._issue(issue_id, business, branch, channel, meeting_id, created,
                                                        department_of[branch.id], published, publish_chance)
                issues.append(row)
                events.extend(issue_events)
                if rating is not None:
                    ratings.append(rating)
                self.issue_count_by_business[business.id] = self.issue_count_by_business.get(business.id, 0) + 1
                issue_id += 1
                if len(issues) >= BATCH:
                    flush(bar)
            flush(bar)
        self._sync_ids(Issue)

    def _issue(self, issue_id: int, business: _Business, branch: _Branch, channel: str, meeting_id: int | None,
               created: datetime, department_id: int, published: dict[int, int],
               publish_chance: float) -> tuple[dict, list[dict], dict | None]:
        rng, today, now = self.rng, self.today, self.now
        add, between = self.add_workdays, self.workdays_between
        topic_id, topic_code, answer_days = rng.choices(self.topics, self.topic_weights)[0]
        title, description, resolution, legal_basis = rng.choice(ISSUE_TEXTS.get(topic_code) or ISSUE_TEXTS["other"])
        fill = {"goods": rng.choice(GOODS), "co": rng.choice(CO_FORMS)}
        title, description = title.format(**fill), description.format(**fill)
        resolution = resolution.format(**fill)
        raised_on = created.astimezone(ZONE).date()
        age_years = (today - raised_on).days / 365

        unit_id, officer_id, officer_label = branch.id, branch.officer_id, branch.officer_label
        events = [{"issue_id": issue_id, "at": created, "by_id": None, "by_label": "system", "from_status": None,
                   "to_status": "new", "note": "", "details": {"channel": channel}}]
        # The clock the answer runs on starts where the issue is handled: the branch, or the Department
        # from the day it was escalated.
        handled_from = raised_on
        if rng.random() < 0.03:
            escalated_on = add(raised_on, rng.randint(1, 3))
            if escalated_on <= today:
                escalated_at = min(self._local(escalated_on, rng.randint(480, 1020)), now)
                unit_id = department_id
                events.append({"issue_id": issue_id, "at": escalated_at, "by_id": branch.officer_id,
                               "by_label": branch.officer_label, "from_status": "new", "to_status": "escalated",
                               "note": ESCALATION_NOTE,
                               "details": {"from_unit": branch.code, "to_unit": self._code_of(department_id)}})
                officer_id, officer_label = self.officers[department_id]
                handled_from = escalated_on
        assigned_on = add(handled_from, rng.randint(0, 1)) if rng.random() < 0.5 else handled_from
        due = add(handled_from, answer_days)

        # When it is (or will be) answered: mostly within the time allowed, late more often in earlier years.
        roll = rng.random()
        late_chance = 0.1 + 0.03 * age_years
        stuck_chance = 0.002 + 0.01 * max(0.0, 1 - age_years)  # old forgotten issues get chased, mostly
        if roll < stuck_chance:
            taken = None  # stuck: not answered yet
        elif roll < stuck_chance + late_chance * 0.75:
            taken = answer_days + rng.randint(1, 10)
        elif roll < stuck_chance + late_chance:
            taken = answer_days + rng.randint(11, 40)
        else:
            taken = rng.randint(1, answer_days)
        answered_on = add(handled_from, taken) if taken is not None else None
        answered_at = self._local(answered_on, rng.randint(480, 1050)) if answered_on else None

        row = {
            "id": issue_id, "title": title, "description": description, "business_id": business.id,
            "raised_by_contact_id": business.contact[0] if business.contact else None,
            "raised_by_name": business.contact[1] if business.contact else "", "channel": channel,
            "topic_id": topic_id, "unit_id": unit_id, "origin_unit_id": branch.id, "meeting_id": meeting_id,
            "interaction_id": None, "status": "new", "assignee_id": None, "due_date": None, "resolution": "",
            "legal_basis": "", "answered_by_id": None, "answered_at": None, "answer_workdays": None,
            "answered_on_time": None, "published": False, "public_question": "", "public_answer": "",
            "created_by_id": None if channel == "web" else branch.officer_id, "created_at": created,
            "updated_at": events[-1]["at"], "version": len(events),
        }
        rating = None
        if assigned_on > today:
            return row, events, rating  # raised today, nobody assigned yet
        if answered_at is not None and answered_at <= now:
            status = "closed" if (today - answered_on).days > 10 and rng.random() < 0.92 else "answered"
            row.update({
                "status": status, "assignee_id": officer_id, "due_date": due, "resolution": resolution,
                "legal_basis": legal_basis, "answered_by_id": officer_id, "answered_at": answered_at,
                "answer_workdays": between(raised_on, answered_on), "answered_on_time": answered_on <= due,
                "updated_at": min(answered_at + timedelta(days=7), now) if status == "closed" else answered_at,
                "version": len(events) + 3 + (status == "closed"),
            })
            events.append({"issue_id": issue_id, "at": answered_at, "by_id": officer_id, "by_label": officer_label,
                           "from_status": "in_progress", "to_status": "answered", "note": "", "details": {}})
            if rng.random() < 0.6:
                rated_at = min(answered_at + timedelta(hours=rng.randint(2, 96)), now)
                rating = {"issue_id": issue_id, "score": rng.choices((1, 2, 3, 4, 5), (3, 4, 11, 35, 47))[0],
                          "comment": rng.choice(RATING_COMMENTS), "by_id": None, "officer_id": officer_id,
                          "unit_id": unit_id, "at": rated_at}
            if topic_code != "conduct" and published[department_id] < 5 and rng.random() < publish_chance:
                published[department_id] += 1
                row.update({"published": True, "public_question": f"Doanh nghiệp hỏi: {description}",
                            "public_answer": resolution})
        else:
            started = (today - assigned_on).days > 1 or rng.random() < 0.5
            row.update({"status": "in_progress" if started else "assigned", "assignee_id": officer_id,
                        "due_date": due, "version": len(events) + 1 + started})
        return row, events, rating

    def _code_of(self, unit_id: int) -> str:
        return self.unit_codes[unit_id]

    def _plans(self) -> None:
        rng = self.rng
        rows = [{"unit_id": branch.id, "year": year, "dialogues": 12, "businesses": rng.randint(40, 80),
                 "updated_at": self.window_start}
                for branch in self.branches for year in range(self.start_day.year, self.today.year + 1)]
        with self.progress("Plans", len(rows)) as bar:
            self._insert(UnitPlan, rows, bar)

    def _business_account(self) -> None:
        """The business account: the printed branch's business that raised the most issues and has a contact."""
        branch = self.branches[0]
        candidates = [self.business_by_id[b] for b in branch.businesses if self.business_by_id[b].contact]
        candidates = candidates or [self.business_by_id[b] for b in branch.businesses]
        business = max(candidates, key=lambda b: (self.issue_count_by_business.get(b.id, 0), -b.id))
        email, secret = f"doanhnghiep@{DEMO_DOMAIN}", self.password or secrets.token_urlsafe(9)
        name = business.contact[1] if business.contact else self._person()
        user = auth_services.create_user(email=email, name=name, password=secret, role="business",
                                         business=db.session.get(Business, business.id))
        db.session.flush()
        db.session.execute(update(Rating.__table__).where(
            Rating.issue_id.in_(select(Issue.id).where(Issue.business_id == business.id))).values(by_id=user.id))
        self.accounts.append(("business", email, secret))

    def _sync_ids(self, *models) -> None:
        """The ids were given here, not drawn from PostgreSQL's sequences: move those past what was used, so
        that the rows the app adds next do not collide."""
        if db.session.connection().dialect.name != "postgresql":
            return
        for model in models:
            table = model.__tablename__
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our own table names)
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))

    def _finish(self) -> None:
        with self.progress("Analyse", 1) as bar:
            db.session.execute(text("ANALYZE"))
            bar.update(1)


def _actor_label(name: str, email: str) -> str:
    """How an issue's history names a person (as issues.services.actor_label does)."""
    return f"{name} <{email}>"


def _initials(place: str) -> str:
    """A branch's short code from its name: "cửa khẩu quốc tế Móng Cái" -> "CKQTMC"."""
    words = fold(place).replace("–", " ").split()
    return "".join(w if w in {"i", "ii", "iii", "iv"} else w[0] for w in words).upper()[:12]


def _first_last_monday(first_day: date) -> datetime:
    """08:00 on the last Monday of `first_day`'s month: the series' first occurrence, local wall time."""
    next_month = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = next_month - timedelta(days=1)
    return datetime.combine(last - timedelta(days=last.weekday()), time(8, 0))


def _feed_key_maker() -> Callable[[str, int], dict]:
    # The feed keys every new series, business, unit and staff account gets on flush (calendar.services),
    # written here in bulk.
    created = utcnow()

    def row(kind: str, target_id: int) -> dict:
        return first_feed_key(kind, target_id, created)

    return row

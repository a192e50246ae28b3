"""The customs topics every installation starts with (the first migration inserts them); an admin edits
the list afterwards on the topics page."""

DEFAULT_TOPICS = [
    # code, name, working days to answer, sensitive (seen by managers only)
    ("tariff", "Phân loại hàng hóa, áp mã HS", 10, False),
    ("valuation", "Trị giá hải quan", 10, False),
    ("origin", "Xuất xứ hàng hóa, C/O", 10, False),
    ("procedure", "Thủ tục hải quan", 5, False),
    ("it", "Hệ thống CNTT (VNACCS/VCIS, cổng thông tin)", 3, False),
    ("inspection", "Kiểm tra chuyên ngành", 10, False),
    ("refund", "Hoàn thuế, không thu thuế", 15, False),
    ("bonded", "Kho ngoại quan, kho bảo thuế", 10, False),
    ("conduct", "Thái độ, tác phong của công chức hải quan", 5, True),
    ("policy", "Chính sách, pháp luật", 15, False),
    ("other", "Vấn đề khác", 10, False),
]


def default_topic_rows() -> list[dict]:
    return [{"code": code, "name": name, "answer_days": days, "sensitive": sensitive, "active": True,
             "position": index} for index, (code, name, days, sensitive) in enumerate(DEFAULT_TOPICS)]

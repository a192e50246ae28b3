"""The templates' strings: in the reader's language, and in another one for as long as a mail asks for it."""

from flask import render_template_string
from flask_babel import force_locale


def test_a_mail_in_another_language_midway_through_a_page_leaves_the_page_in_its_own(app):
    template = ('{{ _("Sign out") }} · {{ ngettext("%(num)d result", "%(num)d results", 3) }} · '
                '{{ _("Number must be at most %(max)s.", max="<b>") }} · '
                '{{ _("Page %(n)d of %(total)d", n=2, total=3) }}')
    with app.test_request_context("/"):
        before = render_template_string(template)
        with force_locale("en"):
            english = render_template_string(template)
        after = render_template_string(template)
    assert before == after == "Đăng xuất · 3 kết quả · Số phải nhỏ hơn hoặc bằng &lt;b&gt;. · Trang 2/3"
    assert english == "Sign out · 3 results · Number must be at most &lt;b&gt;. · Page 2 of 3"

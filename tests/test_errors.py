import pytest
from sqlalchemy import func, select

from dialogue_app.extensions import db
from dialogue_app.org.models import Unit


@pytest.fixture
def broken_routes(app):
    """Routes that fail half-way through a change, as a bug would."""

    def fail_after_writing():
        db.session.add(Unit(code="HALF", name="half", level="general", path="/"))
        db.session.flush()
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", fail_after_writing)
    app.add_url_rule("/api/v1/broken", "api_broken", fail_after_writing)
    return app


def test_an_unexpected_error_is_a_polite_page_and_nothing_half_written_stays(broken_routes, client, login,
                                                                                make_user):
    login(make_user("admin"))
    page = client.get("/broken")
    assert page.status_code == 500
    assert "Traceback" not in page.get_data(as_text=True)
    assert "Đã có lỗi" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Unit).where(Unit.code == "HALF")).scalar_one() == 0


def test_an_unexpected_api_error_keeps_the_error_shape(broken_routes, api, make_user):
    response = api(make_user("admin")).get("/api/v1/broken")
    assert response.status_code == 500
    assert set(response.json["error"]) == {"code", "message", "fields"}


def test_pages_not_found_are_in_vietnamese(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Không tìm thấy trang" in page.get_data(as_text=True)

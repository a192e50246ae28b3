"""Extensions, created unbound here and bound to the app in create_app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import select

from .db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# No default limits: only the routes that need one (sign-in, tokens) carry a limit.
limiter = Limiter(key_func=get_remote_address)


def has_rows(statement) -> bool:
    """True when `statement` (a select) finds at least one row; the database stops at the first."""
    return bool(db.session.execute(select(statement.exists())).scalar())


def paginate(statement, *, per_page: int, page: int | None = None, max_per_page: int | None = None,
             count: bool = True):
    """One page of `statement` (a select a service built): its rows and a count, two queries whatever the size.
    Without `page`, the page the request's `page` argument names; past the last page, an empty page."""
    return db.paginate(statement, page=page, per_page=per_page, max_per_page=max_per_page, error_out=False,
                       count=count)

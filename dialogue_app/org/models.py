from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Belongs, utcnow
from ..extensions import db

if TYPE_CHECKING:  # auth refers to org; the officer is resolved by name when the mappers are set up
    from ..auth.models import User


class UnitLevel(StrEnum):
    GENERAL = "general"
    DEPARTMENT = "department"
    BRANCH = "branch"


# Which level a unit's parent must be at: the hierarchy has exactly three levels, so
# nesting by level also makes a cycle impossible.
PARENT_LEVEL: dict[UnitLevel, UnitLevel | None] = {
    UnitLevel.GENERAL: None,
    UnitLevel.DEPARTMENT: UnitLevel.GENERAL,
    UnitLevel.BRANCH: UnitLevel.DEPARTMENT,
}


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (CheckConstraint("level IN ('general', 'department', 'branch')", name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path of ids ("/1/4/9/"): "this unit and everything below it" is one indexed
    # prefix match, the question every scoped query asks.
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent", order_by="Unit.code")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Business(db.Model):
    __tablename__ = "businesses"
    __scope__ = Belongs(unit="unit_id", business="id")

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # Accent-free, lower-case name and tax code, kept in step by the services, so that
    # "ca phe" finds "Cà phê" with a plain LIKE on any database; lists go by it too, so that a name in Đ comes
    # among the D's (in code point order it would follow Z).
    search_text: Mapped[str] = mapped_column(String(300), index=True, default="")
    address: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="business", cascade="all, delete-orphan", order_by="Contact.name"
    )

    def __repr__(self) -> str:
        return f"<Business {self.tax_code}>"


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    business: Mapped[Business] = relationship(back_populates="contacts")


INTERACTION_CHANNELS = ("visit", "phone", "email", "zalo", "fanpage", "counter")


class Interaction(db.Model):
    """A contact with a business outside meetings: a visit, a call, an email, a Zalo or fanpage message."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint("channel IN ('visit', 'phone', 'email', 'zalo', 'fanpage', 'counter')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    happened_on: Mapped[date] = mapped_column(Date, index=True)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    business: Mapped[Business] = relationship()
    unit: Mapped[Unit] = relationship()
    officer: Mapped["User | None"] = relationship()

"""The application's models: the source of truth for its schema."""

import datetime
import enum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Status(enum.Enum):
    pending = "pending"
    paid = "paid"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # A `%` in a constraint's text must reach the database as one `%`.
        CheckConstraint("email LIKE '%@%'", name="customers_email_check"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    note: Mapped[str | None] = mapped_column(Text)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("orders_customer_idx", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE")
    )
    total: Mapped[float] = mapped_column(Numeric(12, 2), server_default=text("0"))
    status: Mapped[Status] = mapped_column(
        Enum(Status, name="order_status"), server_default="pending"
    )
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.current_timestamp()
    )

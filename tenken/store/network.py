"""The road network in the store, and where each survey's defects and unit grades lie on it.

`network_routes` is what `tenken network import` wrote; `survey_units` and `defect_locations` are
derived from a survey and the network (re-derived when either changes), `survey_locations` says
that a survey was matched and how much of it lay on the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.network.units import DefectLocation, NetworkRoute, UnitGrade
from tenken.store.db import Base


class NetworkRouteRow(Base):
    __tablename__ = "network_routes"

    route_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    start_m: Mapped[float] = mapped_column(Float)
    unit_m: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    points: Mapped[list[list[float]]] = mapped_column(JSON)  # [[lat, lon], ...]
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SurveyLocationRow(Base):
    __tablename__ = "survey_locations"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    located_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    surveyed_at_s: Mapped[float] = mapped_column(Float)  # UNIX time of the survey's first frame
    fixes_total: Mapped[int] = mapped_column(Integer)
    fixes_on_network: Mapped[int] = mapped_column(Integer)


class SurveyUnitRow(Base):
    __tablename__ = "survey_units"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    route_id: Mapped[str] = mapped_column(
        ForeignKey("network_routes.route_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    unit_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_m: Mapped[float] = mapped_column(Float)
    to_m: Mapped[float] = mapped_column(Float)
    line: Mapped[list[list[float]]] = mapped_column(JSON)
    surveyed_fraction: Mapped[float] = mapped_column(Float)
    crack_ratio_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    category: Mapped[str | None] = mapped_column(String(4), nullable=True)
    mci: Mapped[float | None] = mapped_column(Float, nullable=True)
    mci_advice: Mapped[str | None] = mapped_column(String(32), nullable=True)
    defect_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    severity_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    seen_from_m: Mapped[float] = mapped_column(Float)
    seen_to_m: Mapped[float] = mapped_column(Float)


class DefectLocationRow(Base):
    __tablename__ = "defect_locations"

    defect_id: Mapped[int] = mapped_column(ForeignKey("defects.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    route_id: Mapped[str] = mapped_column(
        ForeignKey("network_routes.route_id", ondelete="CASCADE"), index=True
    )
    distance_m: Mapped[float] = mapped_column(Float)
    offset_m: Mapped[float] = mapped_column(Float)
    unit_index: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class SurveyLocation:
    job_id: str
    surveyed_at_s: float
    fixes_total: int
    fixes_on_network: int


def replace_network(session: Session, routes: Sequence[NetworkRoute]) -> None:
    """Make `routes` the network; what surveys derived from the old one goes with it."""
    session.execute(delete(DefectLocationRow))
    session.execute(delete(SurveyUnitRow))
    session.execute(delete(SurveyLocationRow))
    session.execute(delete(NetworkRouteRow))
    now = datetime.now(UTC)
    session.add_all(
        NetworkRouteRow(
            route_id=r.route_id,
            name=r.name,
            start_m=r.start_m,
            unit_m=r.unit_m,
            length_m=r.length_m,
            points=[list(p) for p in r.points],
            imported_at=now,
        )
        for r in routes
    )
    session.flush()


def load_network(session: Session) -> list[NetworkRoute]:
    rows = session.scalars(select(NetworkRouteRow).order_by(NetworkRouteRow.route_id))
    return [
        NetworkRoute(r.route_id, r.name, tuple((p[0], p[1]) for p in r.points), r.start_m, r.unit_m)
        for r in rows
    ]


def save_survey_location(
    session: Session,
    location: SurveyLocation,
    units: Iterable[UnitGrade],
    defects: dict[int, DefectLocation],
) -> None:
    """Replace what is stored of a survey's place on the network."""
    job_id = location.job_id
    session.execute(delete(DefectLocationRow).where(DefectLocationRow.job_id == job_id))
    session.execute(delete(SurveyUnitRow).where(SurveyUnitRow.job_id == job_id))
    session.execute(delete(SurveyLocationRow).where(SurveyLocationRow.job_id == job_id))
    session.add(
        SurveyLocationRow(
            job_id=job_id,
            located_at=datetime.now(UTC),
            surveyed_at_s=location.surveyed_at_s,
            fixes_total=location.fixes_total,
            fixes_on_network=location.fixes_on_network,
        )
    )
    session.add_all(
        SurveyUnitRow(
            job_id=job_id,
            route_id=u.route_id,
            unit_index=u.unit_index,
            from_m=u.from_m,
            to_m=u.to_m,
            line=[list(p) for p in u.line],
            surveyed_fraction=u.surveyed_fraction,
            crack_ratio_pct=u.crack_ratio_pct,
            category=u.category,
            mci=u.mci,
            mci_advice=u.mci_advice,
            defect_counts=dict(u.defect_counts),
            severity_counts=dict(u.severity_counts),
            seen_from_m=u.seen_from_m,
            seen_to_m=u.seen_to_m,
        )
        for u in units
    )
    session.add_all(
        DefectLocationRow(
            defect_id=defect_id,
            job_id=job_id,
            route_id=loc.route_id,
            distance_m=loc.distance_m,
            offset_m=loc.offset_m,
            unit_index=loc.unit_index,
        )
        for defect_id, loc in defects.items()
    )
    session.flush()


def get_survey_location(session: Session, job_id: str) -> SurveyLocation | None:
    row = session.get(SurveyLocationRow, job_id)
    if row is None:
        return None
    return SurveyLocation(row.job_id, row.surveyed_at_s, row.fixes_total, row.fixes_on_network)


def _unit(row: SurveyUnitRow) -> UnitGrade:
    return UnitGrade(
        route_id=row.route_id,
        unit_index=row.unit_index,
        from_m=row.from_m,
        to_m=row.to_m,
        line=tuple((p[0], p[1]) for p in row.line),
        surveyed_fraction=row.surveyed_fraction,
        crack_ratio_pct=row.crack_ratio_pct,
        category=row.category,
        mci=row.mci,
        mci_advice=row.mci_advice,
        defect_counts=dict(row.defect_counts),
        severity_counts=dict(row.severity_counts),
        seen_from_m=row.seen_from_m,
        seen_to_m=row.seen_to_m,
    )


def survey_units(session: Session, job_id: str) -> list[UnitGrade]:
    query = (
        select(SurveyUnitRow)
        .where(SurveyUnitRow.job_id == job_id)
        .order_by(SurveyUnitRow.route_id, SurveyUnitRow.unit_index)
    )
    return [_unit(r) for r in session.scalars(query)]


def defect_locations(session: Session, job_id: str) -> dict[int, DefectLocation]:
    """Stored defect id (`defects.id`) -> its place on the network, for the defects that have one."""
    rows = session.scalars(select(DefectLocationRow).where(DefectLocationRow.job_id == job_id))
    return {r.defect_id: DefectLocation(r.route_id, r.distance_m, r.offset_m, r.unit_index) for r in rows}


def latest_unit_grades(session: Session) -> list[tuple[UnitGrade, str, float]]:
    """Each unit's grade from the newest survey that saw it: (grade, job id, survey UNIX time)."""
    query = (
        select(SurveyUnitRow, SurveyLocationRow.surveyed_at_s)
        .join(SurveyLocationRow, SurveyLocationRow.job_id == SurveyUnitRow.job_id)
        .where(SurveyUnitRow.surveyed_fraction > 0)
    )
    newest: dict[tuple[str, int], tuple[UnitGrade, str, float]] = {}
    for row, surveyed_at_s in session.execute(query).all():
        key = (row.route_id, row.unit_index)
        if key not in newest or surveyed_at_s > newest[key][2]:
            newest[key] = (_unit(row), row.job_id, surveyed_at_s)
    return [newest[k] for k in sorted(newest)]

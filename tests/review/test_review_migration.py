"""A store from before reviews (revision 0004) upgrades in place, keeping its surveys, on both databases."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from tenken.store.db import Store, make_engine
from tenken.store.defects import DefectRow
from tenken.store.migrate import current_revisions, head_revisions, upgrade_schema
from tenken.store.repairs import set_repair_status
from tenken.store.reviews import Review, review_defect
from tests.api.seed import defects_along, seed_survey

REVIEW_TABLES = {"defect_reviews", "defect_repairs", "defect_repair_events"}


def test_a_store_from_before_reviews_upgrades_and_keeps_its_findings(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine, "0004_drone_tracks")  # the revision before reviews
    assert not REVIEW_TABLES & set(inspect(engine).get_table_names())
    # a survey stored before the upgrade, written with SQL the old schema accepts
    old = Store(database_url, create=False)
    job_id = seed_survey(old, defects_along(5))
    old.dispose()

    store = Store(database_url)  # every start upgrades
    assert current_revisions(store.engine) == head_revisions()
    assert set(inspect(store.engine).get_table_names()) >= REVIEW_TABLES
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DefectRow).where(DefectRow.job_id == job_id)) == 5
        first = s.scalars(
            select(DefectRow.id).where(DefectRow.job_id == job_id).order_by(DefectRow.id)
        ).first()
        assert first is not None
        review_defect(s, first, Review("confirmed"), reviewer="sato")
        assert set_repair_status(s, first, "scheduled", by="sato").status == "scheduled"
    store.dispose()
    engine.dispose()

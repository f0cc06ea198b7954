from tests.store.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL stores)

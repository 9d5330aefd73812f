from tests.support.postgres_fixtures import fresh_pg, pg, pg_url

__all__ = ["fresh_pg", "pg", "pg_url"]

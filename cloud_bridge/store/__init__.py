"""The tickets database: SQLAlchemy Core tables, queries, one transaction per unit of work, Alembic
migrations."""

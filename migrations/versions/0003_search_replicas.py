"""search index replicas and their outbox positions

Revision ID: 0003_search_replicas
Revises: 0002_delivery
Create Date: 2026-12-03 21:20:00.000000

Each node's index directory records the last outbox id it applied, so that the
outbox can be pruned once every known replica is past a row.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_search_replicas'
down_revision = '0002_delivery'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_replicas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_replicas')),
    sa.UniqueConstraint('name', name=op.f('uq_search_replicas_name'))
    )


def downgrade():
    op.drop_table('search_replicas')

"""listing recency: the newest published listings read from an index

Revision ID: 0010_listing_recency
Revises: 0009_contract_figures
Create Date: 2026-12-07 21:25:00

The home page lists the newest published results and open challenges; with
10k listings SQLite sorted every published row to find them (about 50 ms a
view, bench/load.py). These indexes give the first rows in order.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_listing_recency'
down_revision = '0009_contract_figures'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.create_index('ix_challenges_status_published_at', ['status', 'published_at'], unique=False)

    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('ix_results_status_published_at', ['status', 'published_at'], unique=False)


def downgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_status_published_at')

    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index('ix_challenges_status_published_at')

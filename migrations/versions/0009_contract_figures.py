"""contract figures: indexes for the bureau's pages at scale

Revision ID: 0009_contract_figures
Revises: 0008_conversations
Create Date: 2026-12-07 10:45:22.209131

The bureau's figures, register and exports read contracts and payments through
these indexes (bench/bureau_pages.py measures them at 100k contracts).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_contract_figures'
down_revision = '0008_conversations'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_amount_fen'), ['amount_fen'], unique=False)
        batch_op.create_index('ix_contracts_buyer_region_code', ['buyer_region_code'], unique=False)
        batch_op.create_index('ix_contracts_figures', ['status', 'signed_on', 'amount_fen', 'tech_amount_fen', 'contract_type', 'seller_region_code', 'buyer_region_code', 'seller_org_id', 'buyer_org_id', 'broker_org_id', 'field_id', 'challenge_id', 'result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_registered_at'), ['registered_at'], unique=False)
        batch_op.create_index('ix_contracts_seller_region_code', ['seller_region_code'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_received_on_contract', ['received_on', 'contract_id', 'amount_fen'], unique=False)



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_received_on_contract')

    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_contracts_seller_region_code')
        batch_op.drop_index(batch_op.f('ix_contracts_registered_at'))
        batch_op.drop_index('ix_contracts_figures')
        batch_op.drop_index('ix_contracts_buyer_region_code')
        batch_op.drop_index(batch_op.f('ix_contracts_amount_fen'))


"""contract corrections: payment reversals, cancelled (注销) contracts

Revision ID: 0006_contract_corrections
Revises: 0005_login_throttles
Create Date: 2026-12-07 07:10:00

Written by hand. A payment is never edited or deleted: a reversal (冲销) is a new,
negative entry pointing at the original, so the ledger's plain sum stays the net
amount received. A registered contract may be cancelled by the bureau with a
reason; the status CHECK gains 'cancelled'. SQLite cannot alter a CHECK, so it
rebuilds both tables in batch mode; PostgreSQL alters them in place.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_contract_corrections'
down_revision = '0005_login_throttles'
branch_labels = None
depends_on = None

OLD_STATES = ('submitted', 'registered', 'rejected')
NEW_STATES = (*OLD_STATES, 'cancelled')
REVERSAL_CHECK = (
    "(reverses_id IS NULL AND amount_fen > 0)"
    " OR (reverses_id IS NOT NULL AND amount_fen < 0)"
)


def _status(states):
    return sa.Enum(
        *states, name='contract_status', native_enum=False, create_constraint=True
    )


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def _contract_columns(batch_op):
    batch_op.add_column(
        sa.Column('cancel_reason', sa.Text(), nullable=False, server_default=''),
    )
    batch_op.add_column(
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    )


def _payment_columns(batch_op):
    batch_op.add_column(sa.Column('reverses_id', sa.Integer(), nullable=True))
    batch_op.add_column(
        sa.Column('reason', sa.String(length=500), nullable=False, server_default='')
    )
    batch_op.create_unique_constraint(
        op.f('uq_payments_reverses_id'), ['reverses_id']
    )
    batch_op.create_foreign_key(
        op.f('fk_payments_reverses_id_payments'), 'payments', ['reverses_id'], ['id']
    )


def upgrade():
    if _sqlite():
        # SQLite cannot alter a CHECK: rebuild the table with the wider enum.
        with op.batch_alter_table('contracts', recreate='always') as batch_op:
            batch_op.alter_column(
                'status',
                existing_type=_status(OLD_STATES),
                type_=_status(NEW_STATES),
                existing_nullable=False,
            )
            _contract_columns(batch_op)
    else:
        # Elsewhere the table stays in place (other tables' keys point at it).
        op.drop_constraint(
            op.f('ck_contracts_contract_status'), 'contracts', type_='check'
        )
        op.create_check_constraint(
            op.f('ck_contracts_contract_status'),
            'contracts',
            sa.column('status').in_(NEW_STATES),
        )
        with op.batch_alter_table('contracts') as batch_op:
            _contract_columns(batch_op)
    with op.batch_alter_table('contracts') as batch_op:
        batch_op.alter_column('cancel_reason', server_default=None)

    with op.batch_alter_table('payments') as batch_op:
        _payment_columns(batch_op)
        batch_op.drop_constraint(op.f('ck_payments_amount_fen'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payments_amount_fen'), REVERSAL_CHECK)
    with op.batch_alter_table('payments') as batch_op:
        batch_op.alter_column('reason', server_default=None)


def downgrade():
    # Reversal entries cannot be expressed in the old schema: drop them and give
    # their amounts back to the contracts' paid totals first.
    op.execute(
        "UPDATE contracts SET paid_fen = paid_fen - COALESCE((SELECT SUM(p.amount_fen)"
        " FROM payments p WHERE p.contract_id = contracts.id"
        " AND p.reverses_id IS NOT NULL), 0)"
    )
    op.execute("DELETE FROM payments WHERE reverses_id IS NOT NULL")
    op.execute("UPDATE contracts SET status = 'registered' WHERE status = 'cancelled'")
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_amount_fen'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_payments_amount_fen'), 'amount_fen > 0'
        )
        batch_op.drop_constraint(
            op.f('fk_payments_reverses_id_payments'), type_='foreignkey'
        )
        batch_op.drop_constraint(op.f('uq_payments_reverses_id'), type_='unique')
        batch_op.drop_column('reason')
        batch_op.drop_column('reverses_id')
    if _sqlite():
        with op.batch_alter_table('contracts', recreate='always') as batch_op:
            batch_op.drop_column('cancelled_at')
            batch_op.drop_column('cancel_reason')
            batch_op.alter_column(
                'status',
                existing_type=_status(NEW_STATES),
                type_=_status(OLD_STATES),
                existing_nullable=False,
            )
    else:
        op.drop_constraint(
            op.f('ck_contracts_contract_status'), 'contracts', type_='check'
        )
        op.create_check_constraint(
            op.f('ck_contracts_contract_status'),
            'contracts',
            sa.column('status').in_(OLD_STATES),
        )
        op.drop_column('contracts', 'cancelled_at')
        op.drop_column('contracts', 'cancel_reason')

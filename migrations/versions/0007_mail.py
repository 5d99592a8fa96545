"""mail: the outgoing mail queue, e-mail confirmation and mail preferences

Revision ID: 0007_mail
Revises: 0006_contract_corrections
Create Date: 2026-12-07 07:45:00

Written against a SQLite database at 0006_contract_corrections. Accounts that
exist before this revision were made by admins, commands or the demo, so they
count as confirmed; only sign-ups and invitations from now on wait for a link.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_mail'
down_revision = '0006_contract_corrections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outgoing_mails',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('password_reset', 'invitation', 'confirm_email', 'signup_taken', 'notification', 'digest', name='mail_kind', native_enum=False, create_constraint=True, length=14), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', name='mail_status', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mails'))
    )
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mails_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_mails_status'), ['status'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('mail_preference', sa.Enum('each', 'digest', 'off', name='mail_preference', native_enum=False, create_constraint=True, length=6), nullable=False, server_default='each'))
        batch_op.add_column(sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = CURRENT_TIMESTAMP")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('mail_preference', server_default=None)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_at')
        batch_op.drop_constraint(op.f('ck_users_mail_preference'), type_='check')
        batch_op.drop_column('mail_preference')
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_status'))
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_next_attempt_at'))

    op.drop_table('outgoing_mails')

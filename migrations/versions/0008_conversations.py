"""conversations: messages, NDAs, anonymity, listing changes and files, decline reasons, stored matches

Revision ID: 0008_conversations
Revises: 0007_mail
Create Date: 2026-12-07 10:27:39.087536

Written against a SQLite database at 0007_mail. Rows that exist before this
revision get server defaults: challenges are not anonymous (revealed after the
terms), results have no confidential detail, organisations no contact person.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_conversations'
down_revision = '0007_mail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_kind', sa.String(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.String(length=64), nullable=False),
    sa.Column('index_commit', sa.Integer(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_matches')),
    sa.UniqueConstraint('listing_kind', 'listing_id', 'generation', name=op.f('uq_stored_matches_listing_kind_listing_id_generation'))
    )
    with op.batch_alter_table('stored_matches', schema=None) as batch_op:
        batch_op.create_index('ix_stored_matches_generation_computed', ['generation', 'computed_at'], unique=False)

    op.create_table('nda_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_nda_templates_created_by_id_users')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_nda_templates_owner_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nda_templates'))
    )
    with op.batch_alter_table('nda_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nda_templates_owner_org_id'), ['owner_org_id'], unique=False)

    op.create_table('org_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('business_licence', 'other', name='org_document_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_org_documents_size')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_org_documents_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_org_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_documents')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_org_documents_stored_name'))
    )
    with op.batch_alter_table('org_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_documents_org_id'), ['org_id'], unique=False)

    op.create_table('nda_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_nda_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['nda_templates.id'], name=op.f('fk_nda_versions_template_id_nda_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nda_versions')),
    sa.UniqueConstraint('template_id', 'number', name=op.f('uq_nda_versions_template_id_number'))
    )
    with op.batch_alter_table('nda_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nda_versions_template_id'), ['template_id'], unique=False)

    op.create_table('listing_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(challenge_id IS NULL) <> (result_id IS NULL)', name=op.f('ck_listing_attachments_one_listing')),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_listing_attachments_size')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_listing_attachments_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_listing_attachments_result_id_results'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_listing_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_listing_attachments_stored_name'))
    )
    with op.batch_alter_table('listing_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_attachments_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_attachments_result_id'), ['result_id'], unique=False)

    op.create_table('listing_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('wording', 'material', name='change_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('applied', 'pending', 'approved', 'rejected', 'withdrawn', name='change_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.CheckConstraint('(challenge_id IS NULL) <> (result_id IS NULL)', name=op.f('ck_listing_changes_one_listing')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_listing_changes_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_listing_changes_result_id_results'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_listing_changes_reviewer_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_listing_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_changes'))
    )
    with op.batch_alter_table('listing_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_changes_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_changes_result_id'), ['result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_changes_status'), ['status'], unique=False)

    op.create_table('nda_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.String(length=60), nullable=False),
    sa.Column('org_name', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.CheckConstraint('(challenge_id IS NULL) <> (result_id IS NULL)', name=op.f('ck_nda_signatures_one_listing')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_nda_signatures_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_nda_signatures_org_id_organisations')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_nda_signatures_result_id_results'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_nda_signatures_user_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['nda_versions.id'], name=op.f('fk_nda_signatures_version_id_nda_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nda_signatures'))
    )
    with op.batch_alter_table('nda_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nda_signatures_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nda_signatures_result_id'), ['result_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nda_signatures_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nda_signatures_version_id'), ['version_id'], unique=False)

    op.create_table('message_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('listing', 'deal', 'project', name='thread_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('asker_org_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'listing' AND asker_org_id IS NOT NULL AND (challenge_id IS NULL) <> (result_id IS NULL) AND deal_id IS NULL AND project_id IS NULL) OR (kind = 'deal' AND deal_id IS NOT NULL AND project_id IS NULL AND challenge_id IS NULL AND result_id IS NULL) OR (kind = 'project' AND project_id IS NOT NULL AND deal_id IS NULL AND challenge_id IS NULL AND result_id IS NULL)", name=op.f('ck_message_threads_target')),
    sa.ForeignKeyConstraint(['asker_org_id'], ['organisations.id'], name=op.f('fk_message_threads_asker_org_id_organisations')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_message_threads_challenge_id_challenges')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_message_threads_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_message_threads_deal_id_deals')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_message_threads_project_id_projects')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_message_threads_result_id_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_threads')),
    sa.UniqueConstraint('challenge_id', 'asker_org_id', name=op.f('uq_message_threads_challenge_id_asker_org_id')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_message_threads_deal_id')),
    sa.UniqueConstraint('project_id', name=op.f('uq_message_threads_project_id')),
    sa.UniqueConstraint('result_id', 'asker_org_id', name=op.f('uq_message_threads_result_id_asker_org_id'))
    )
    with op.batch_alter_table('message_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_threads_asker_org_id'), ['asker_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_threads_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_threads_last_message_at'), ['last_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_threads_result_id'), ['result_id'], unique=False)

    op.create_table('clarifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_clarifications_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_clarifications_published_by_id_users')),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], name=op.f('fk_clarifications_thread_id_message_threads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarifications'))
    )
    with op.batch_alter_table('clarifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarifications_challenge_id'), ['challenge_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_messages_author_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_messages_org_id_organisations')),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], name=op.f('fk_messages_thread_id_message_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_thread_id'), ['thread_id'], unique=False)

    op.create_table('thread_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_read_message_id', sa.Integer(), nullable=True),
    sa.Column('unread_count', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('unread_count >= 0', name=op.f('ck_thread_reads_unread_count')),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], name=op.f('fk_thread_reads_thread_id_message_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_reads')),
    sa.UniqueConstraint('thread_id', 'user_id', name=op.f('uq_thread_reads_thread_id_user_id'))
    )
    with op.batch_alter_table('thread_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_reads_thread_id'), ['thread_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_thread_reads_user_id'), ['user_id'], unique=False)

    op.create_table('message_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_message_attachments_size')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_message_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_message_attachments_stored_name'))
    )
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attachments_message_id'), ['message_id'], unique=False)

    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nda_template_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confidential_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('nda_chosen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reveal_to', sa.Enum('after_terms', 'when_selected', name='challenge_reveal', native_enum=False, create_constraint=True), nullable=False, server_default='after_terms'))
        batch_op.create_foreign_key(batch_op.f('fk_challenges_nda_template_id_nda_templates'), 'nda_templates', ['nda_template_id'], ['id'])

    with op.batch_alter_table('confidential_views', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_id', sa.Integer(), nullable=True))
        batch_op.alter_column('challenge_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_confidential_views_result_id'), ['result_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_confidential_views_result_id_results'), 'results', ['result_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_person', sa.String(length=60), nullable=False, server_default=''))

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decline_reason_code', sa.Enum('price', 'route', 'team', 'timing', 'other', name='decline_reason_code', native_enum=False, create_constraint=True), nullable=True))

    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidential_detail', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('nda_template_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confidential_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('nda_chosen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_results_nda_template_id_nda_templates'), 'nda_templates', ['nda_template_id'], ['id'])

    # The server defaults only filled the existing rows; the models keep their
    # callable defaults, so the columns end as create_all makes them.
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.alter_column('anonymous', server_default=None)
        batch_op.alter_column('reveal_to', server_default=None)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.alter_column('contact_person', server_default=None)
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.alter_column('confidential_detail', server_default=None)


def downgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_results_nda_template_id_nda_templates'), type_='foreignkey')
        batch_op.drop_column('nda_chosen_at')
        batch_op.drop_column('confidential_changed_at')
        batch_op.drop_column('nda_template_id')
        batch_op.drop_column('confidential_detail')

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_proposals_decline_reason_code'), type_='check')
        batch_op.drop_column('decline_reason_code')

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('contact_person')

    # Views of results' confidential detail have no place before this revision.
    op.execute("DELETE FROM confidential_views WHERE challenge_id IS NULL")
    with op.batch_alter_table('confidential_views', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_confidential_views_result_id_results'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_confidential_views_result_id'))
        batch_op.alter_column('challenge_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('result_id')

    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_challenges_nda_template_id_nda_templates'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_challenges_challenge_reveal'), type_='check')
        batch_op.drop_column('reveal_to')
        batch_op.drop_column('anonymous')
        batch_op.drop_column('nda_chosen_at')
        batch_op.drop_column('confidential_changed_at')
        batch_op.drop_column('nda_template_id')

    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attachments_message_id'))

    op.drop_table('message_attachments')
    with op.batch_alter_table('thread_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_reads_user_id'))
        batch_op.drop_index(batch_op.f('ix_thread_reads_thread_id'))

    op.drop_table('thread_reads')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_thread_id'))

    op.drop_table('messages')
    with op.batch_alter_table('clarifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clarifications_challenge_id'))

    op.drop_table('clarifications')
    with op.batch_alter_table('message_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_threads_result_id'))
        batch_op.drop_index(batch_op.f('ix_message_threads_last_message_at'))
        batch_op.drop_index(batch_op.f('ix_message_threads_challenge_id'))
        batch_op.drop_index(batch_op.f('ix_message_threads_asker_org_id'))

    op.drop_table('message_threads')
    with op.batch_alter_table('nda_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nda_signatures_version_id'))
        batch_op.drop_index(batch_op.f('ix_nda_signatures_user_id'))
        batch_op.drop_index(batch_op.f('ix_nda_signatures_result_id'))
        batch_op.drop_index(batch_op.f('ix_nda_signatures_challenge_id'))

    op.drop_table('nda_signatures')
    with op.batch_alter_table('listing_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_changes_status'))
        batch_op.drop_index(batch_op.f('ix_listing_changes_result_id'))
        batch_op.drop_index(batch_op.f('ix_listing_changes_challenge_id'))

    op.drop_table('listing_changes')
    with op.batch_alter_table('listing_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_attachments_result_id'))
        batch_op.drop_index(batch_op.f('ix_listing_attachments_challenge_id'))

    op.drop_table('listing_attachments')
    with op.batch_alter_table('nda_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nda_versions_template_id'))

    op.drop_table('nda_versions')
    with op.batch_alter_table('org_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_documents_org_id'))

    op.drop_table('org_documents')
    with op.batch_alter_table('nda_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nda_templates_owner_org_id'))

    op.drop_table('nda_templates')
    with op.batch_alter_table('stored_matches', schema=None) as batch_op:
        batch_op.drop_index('ix_stored_matches_generation_computed')

    op.drop_table('stored_matches')

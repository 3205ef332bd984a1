"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tidal_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('number_of_tracks', sa.Integer(), nullable=False),
    sa.Column('favourite', sa.Boolean(), nullable=False),
    sa.Column('local_folder_path', sa.Text(), nullable=True),
    sa.Column('sync_status', sa.Enum('in_sync', 'needs_download', 'needs_update', 'needs_removal', 'unknown', name='playlist_sync_status', native_enum=False, length=32), nullable=False),
    sa.Column('last_updated_tidal', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_last_updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_last_updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetch_complete', sa.Boolean(), nullable=False),
    sa.Column('removed_from_tidal', sa.Boolean(), nullable=False),
    sa.Column('last_synced_filesystem', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlists')),
    sa.UniqueConstraint('tidal_id', name=op.f('uq_playlists_tidal_id'))
    )
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlists_sync_status'), ['sync_status'], unique=False)

    op.create_table('run_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('playlists', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_failures'))
    )
    with op.batch_alter_table('run_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_failures_run_id'), ['run_id'], unique=False)

    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('root', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('reread', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans'))
    )
    op.create_table('tidal_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('playlists', sa.Integer(), nullable=False),
    sa.Column('tracks', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('playlists_fetched', sa.Integer(), nullable=False),
    sa.Column('requests_made', sa.Integer(), nullable=False),
    sa.Column('incomplete_playlists', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tidal_snapshots'))
    )
    op.create_table('tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tidal_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('artist', sa.Text(), nullable=False),
    sa.Column('album', sa.Text(), nullable=True),
    sa.Column('album_artist', sa.Text(), nullable=True),
    sa.Column('track_number', sa.Integer(), nullable=True),
    sa.Column('isrc', sa.String(length=16), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('version', sa.Text(), nullable=True),
    sa.Column('allow_streaming', sa.Boolean(), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('download_status', sa.Enum('not_downloaded', 'downloading', 'downloaded', 'error', name='download_status', native_enum=False, length=32), nullable=False),
    sa.Column('download_error', sa.Text(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracks')),
    sa.UniqueConstraint('tidal_id', name=op.f('uq_tracks_tidal_id'))
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracks_download_status'), ['download_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_isrc'), ['isrc'], unique=False)

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('scan_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('ready', 'held', 'superseded', name='plan_status', native_enum=False, length=32), nullable=False),
    sa.Column('held_reason', sa.Text(), nullable=True),
    sa.Column('link_mode', sa.String(length=16), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.Column('removals', sa.Integer(), nullable=False),
    sa.Column('managed_files', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_plans_scan_id_scans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['tidal_snapshots.id'], name=op.f('fk_plans_snapshot_id_tidal_snapshots'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_status'), ['status'], unique=False)

    op.create_table('playlist_tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('symlink_path', sa.Text(), nullable=True),
    sa.Column('symlink_valid', sa.Boolean(), nullable=True),
    sa.Column('sync_status', sa.Enum('synced', 'needs_symlink', 'needs_move', 'needs_removal', 'unknown', name='track_sync_status', native_enum=False, length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_playlist_tracks_playlist_id_playlists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['track_id'], ['tracks.id'], name=op.f('fk_playlist_tracks_track_id_tracks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlist_tracks')),
    sa.UniqueConstraint('playlist_id', 'position', name=op.f('uq_playlist_tracks_playlist_id'))
    )
    with op.batch_alter_table('playlist_tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlist_tracks_playlist_id'), ['playlist_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_playlist_tracks_sync_status'), ['sync_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_playlist_tracks_track_id'), ['track_id'], unique=False)

    op.create_table('scanned_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=False),
    sa.Column('nlink', sa.Integer(), nullable=False),
    sa.Column('link_target', sa.Text(), nullable=True),
    sa.Column('link_resolves_to', sa.Text(), nullable=True),
    sa.Column('link_outside_root', sa.Boolean(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('artist', sa.Text(), nullable=True),
    sa.Column('album', sa.Text(), nullable=True),
    sa.Column('album_artist', sa.Text(), nullable=True),
    sa.Column('track_number', sa.Integer(), nullable=True),
    sa.Column('isrc', sa.String(length=16), nullable=True),
    sa.Column('tag_tidal_id', sa.BigInteger(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('matched_tidal_id', sa.BigInteger(), nullable=True),
    sa.Column('match_method', sa.String(length=8), nullable=True),
    sa.Column('ownership', sa.String(length=16), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_scanned_files_scan_id_scans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scanned_files')),
    sa.UniqueConstraint('path', name=op.f('uq_scanned_files_path'))
    )
    with op.batch_alter_table('scanned_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scanned_files_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_scanned_files_matched_tidal_id'), ['matched_tidal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scanned_files_ownership'), ['ownership'], unique=False)
        batch_op.create_index(batch_op.f('ix_scanned_files_scan_id'), ['scan_id'], unique=False)

    op.create_table('plan_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('playlist_tidal_id', sa.String(length=64), nullable=True),
    sa.Column('track_tidal_id', sa.BigInteger(), nullable=True),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('target_path', sa.Text(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', 'skipped', name='action_status', native_enum=False, length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_actions_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_actions')),
    sa.UniqueConstraint('plan_id', 'seq', name=op.f('uq_plan_actions_plan_id'))
    )
    with op.batch_alter_table('plan_actions', schema=None) as batch_op:
        batch_op.create_index('ix_plan_actions_plan_playlist', ['plan_id', 'playlist_tidal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_actions_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_actions_status'))
        batch_op.drop_index('ix_plan_actions_plan_playlist')

    op.drop_table('plan_actions')
    with op.batch_alter_table('scanned_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scanned_files_scan_id'))
        batch_op.drop_index(batch_op.f('ix_scanned_files_ownership'))
        batch_op.drop_index(batch_op.f('ix_scanned_files_matched_tidal_id'))
        batch_op.drop_index(batch_op.f('ix_scanned_files_kind'))

    op.drop_table('scanned_files')
    with op.batch_alter_table('playlist_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlist_tracks_track_id'))
        batch_op.drop_index(batch_op.f('ix_playlist_tracks_sync_status'))
        batch_op.drop_index(batch_op.f('ix_playlist_tracks_playlist_id'))

    op.drop_table('playlist_tracks')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_status'))

    op.drop_table('plans')
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_isrc'))
        batch_op.drop_index(batch_op.f('ix_tracks_download_status'))

    op.drop_table('tracks')
    op.drop_table('tidal_snapshots')
    op.drop_table('scans')
    with op.batch_alter_table('run_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_failures_run_id'))

    op.drop_table('run_failures')
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlists_sync_status'))

    op.drop_table('playlists')

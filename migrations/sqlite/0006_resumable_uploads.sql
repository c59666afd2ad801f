-- Resumable uploads (tus 1.0 and the IETF resumable-upload draft) until they become assets.
-- Their bytes are chunk objects in storage under `uploads/{upload_id}/`, one row per chunk
-- in resumable_upload_chunks; the offset is the sum of the chunks, kept in the row so a lease
-- check reads one row. An append holds the lease (`lease_token`, valid until `lease_until`):
-- taken and released by conditional UPDATEs on this row, so appends to one upload are
-- serialized across every gateway replica, and a lease whose holder died lapses by itself.
CREATE TABLE resumable_uploads (
    upload_id      TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    protocol       TEXT NOT NULL CHECK (protocol IN ('tus', 'ietf')),
    filename       TEXT NOT NULL,
    -- Checked when the upload completes, in the transaction that binds the asset.
    project_id     TEXT,
    request_id     TEXT NOT NULL,
    -- NULL while deferred.
    length         INTEGER,
    upload_offset  INTEGER NOT NULL DEFAULT 0,
    format_ext     TEXT,
    concat         TEXT NOT NULL DEFAULT '' CHECK (concat IN ('', 'partial', 'final')),
    -- A final upload's partial uploads, comma-separated, in order.
    parts          TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '',
    -- On S3: the multipart upload assetd keeps open into the asset's object key, its parts in
    -- resumable_upload_parts, and the SHA-256 state over those parts (hex of the eight words;
    -- parts are whole 64-byte blocks), so no byte is read back to hash at completion.
    multipart_upload_id  TEXT,
    multipart_key        TEXT,
    sha256_state         TEXT NOT NULL DEFAULT '',
    lease_token    TEXT,
    lease_until    INTEGER NOT NULL DEFAULT 0,
    -- Set when the upload became an asset (no foreign key: deleting the asset later keeps the
    -- upload's answer until it expires).
    asset_id       TEXT,
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX resumable_uploads_expires_idx ON resumable_uploads (expires_at);

CREATE TABLE resumable_upload_chunks (
    upload_id   TEXT NOT NULL REFERENCES resumable_uploads (upload_id) ON DELETE CASCADE,
    start       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    -- The object's key: `uploads/{upload_id}/{start}.{append tag}`, unique per append, so an
    -- append that lost its lease never removes another append's object.
    object_key  TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);

-- The S3 parts of an upload's multipart upload, each a fixed-size run of bytes from `start`;
-- the bytes after the last part (less than a part) stay chunks until a part is full.
CREATE TABLE resumable_upload_parts (
    upload_id    TEXT NOT NULL REFERENCES resumable_uploads (upload_id) ON DELETE CASCADE,
    part_number  INTEGER NOT NULL,
    start        INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

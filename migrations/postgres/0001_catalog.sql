-- The catalog's tables. Identifiers are canonical lowercase UUID text and timestamps are Unix
-- microseconds (BIGINT), the same shapes as on SQLite, so one set of queries serves both engines.

CREATE TABLE accounts (
    account_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    open_api_enabled  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        BIGINT NOT NULL,
    CONSTRAINT accounts_name_key UNIQUE (name)
);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    -- Lowercase hex SHA-256 of the whole key; the key itself is never stored.
    key_hash    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

CREATE TABLE projects (
    project_id            TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    title                 TEXT NOT NULL,
    description           TEXT,
    editor_state          TEXT NOT NULL,
    state_schema_version  TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX projects_account_created_idx ON projects (account_id, created_at DESC, project_id DESC);

CREATE TABLE assets (
    asset_id      TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('IMAGE', 'GIF', 'VIDEO', 'AUDIO', 'CAPTION')),
    source        TEXT NOT NULL,
    filename      TEXT NOT NULL,
    mimetype      TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size >= 0),
    file_key      TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    probe_status  TEXT NOT NULL CHECK (probe_status IN ('pending', 'ready', 'failed')),
    probe_error   TEXT,
    width         BIGINT,
    height        BIGINT,
    duration      DOUBLE PRECISION,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT assets_file_key_key UNIQUE (file_key)
);
CREATE INDEX assets_account_idx ON assets (account_id);

CREATE TABLE project_assets (
    project_id  TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (project_id, asset_id),
    -- An asset cannot be deleted while bound: the catalog answers ASSET_REFERENCED first.
    CONSTRAINT project_assets_asset_fkey FOREIGN KEY (asset_id) REFERENCES assets (asset_id) ON DELETE RESTRICT
);
CREATE INDEX project_assets_asset_idx ON project_assets (asset_id);
CREATE INDEX project_assets_list_idx ON project_assets (project_id, created_at DESC, asset_id DESC);

-- Packages (issue 17): the catalog of what agents can be offered through
-- OpAMP PackagesAvailable, and the content-addressed store of the files
-- uploaded to this server.
--
-- A package (the agent itself, a top-level package or an addon) has versions;
-- a version is immutable once registered (only its withdrawal is recorded)
-- and has one downloadable file per platform (os.type / host.arch of the
-- agent description), named by its SHA-256.
CREATE TABLE packages (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL,
  -- 'agent' | 'top_level' | 'addon'
  type       text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE package_versions (
  tenant_id    text NOT NULL,
  package_name text NOT NULL,
  version      text NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- A withdrawn version is offered to no agent again; it stays for the record.
  withdrawn_at timestamptz,
  withdrawn_by text,
  PRIMARY KEY (tenant_id, package_name, version),
  FOREIGN KEY (tenant_id, package_name) REFERENCES packages (tenant_id, name) ON DELETE CASCADE
);

CREATE TABLE package_files (
  tenant_id    text NOT NULL,
  package_name text NOT NULL,
  version      text NOT NULL,
  os           text NOT NULL,
  arch         text NOT NULL,
  -- SHA-256 of the file's bytes: DownloadableFile.content_hash, and the key of an uploaded file.
  sha256       bytea NOT NULL,
  size_bytes   bigint NOT NULL,
  -- The publisher's signature (opaque bytes, DownloadableFile.signature); never produced here.
  signature    bytea,
  -- 'url' (the operator's artifact store, verified once at registration) or 'upload' (package_blobs).
  source       text NOT NULL,
  url          text,
  PRIMARY KEY (tenant_id, package_name, version, os, arch),
  FOREIGN KEY (tenant_id, package_name, version) REFERENCES package_versions (tenant_id, package_name, version) ON DELETE CASCADE
);

-- Files uploaded to this server, per tenant, content-addressed: a blob is
-- written under its id while it streams in and gets its sha256 when the last
-- byte is in (an upload of content the tenant already has is dropped then).
CREATE TABLE package_blobs (
  id         bigserial PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  sha256     bytea,
  size_bytes bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sha256)
);

-- The blob's bytes in chunks of a fixed size (libs/store PACKAGE_BLOB_CHUNK_BYTES):
-- a Range request reads only the chunks it needs, one at a time.
CREATE TABLE package_blob_chunks (
  blob_id bigint NOT NULL REFERENCES package_blobs (id) ON DELETE CASCADE,
  chunk   integer NOT NULL,
  data    bytea NOT NULL,
  PRIMARY KEY (blob_id, chunk)
);

-- Platform credentials (access tokens, app secrets), sealed: never in clear on disk.
-- Idempotent: run at every open.

CREATE TABLE IF NOT EXISTS credentials (
    team_id         TEXT    NOT NULL,
    account_link_id TEXT    NOT NULL,
    -- AES-256-GCM of the JSON map; the team and link ids are its additional data, so a row
    -- copied onto another link or team does not open.
    sealed          BLOB    NOT NULL,
    updated_at      INTEGER NOT NULL, -- unix nanoseconds, UTC
    PRIMARY KEY (team_id, account_link_id)
) STRICT;

-- Connect flows in progress (AccountService.StartConnect): one row per one-time state, keyed by
-- a hash of the state, its details (team, member, PKCE verifier, a finished grant's tokens)
-- sealed like credentials. Taken (deleted) when used; expired rows are refused and swept.
CREATE TABLE IF NOT EXISTS connect_states (
    id         TEXT    NOT NULL PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL -- unix nanoseconds, UTC
) STRICT;

-- Token refresh leases: the process that holds a link's lease is the only one refreshing its
-- token until the lease ends (rotating refresh tokens are usable once).
CREATE TABLE IF NOT EXISTS token_refresh_leases (
    account_link_id TEXT    NOT NULL PRIMARY KEY,
    holder          TEXT    NOT NULL,
    until           INTEGER NOT NULL -- unix nanoseconds, UTC
) STRICT;

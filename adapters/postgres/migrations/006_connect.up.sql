-- Connect flows in progress (AccountService.StartConnect): one row per one-time state, keyed by
-- a hash of the state, its details (team, member, PKCE verifier, a finished grant's tokens)
-- sealed like credentials. Taken (deleted) when used; expired rows are refused and swept.
CREATE TABLE connect_states (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    sealed     bytea            NOT NULL,
    expires_at timestamptz      NOT NULL
);

-- Token refresh leases: the process holding a link's lease is the only one refreshing its token
-- until the lease ends (rotating refresh tokens are usable once), across every process.
CREATE TABLE token_refresh_leases (
    account_link_id text COLLATE "C" NOT NULL PRIMARY KEY,
    holder          text COLLATE "C" NOT NULL,
    until           timestamptz      NOT NULL
);

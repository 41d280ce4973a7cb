-- API keys: their prefix (to tell keys apart) and when they last authenticated a call.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS prefix text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS last_used_at timestamptz;

-- The instance's secrets, shared by every process of a deployment: the key that API key
-- hashes are made under (HMAC-SHA256), created once by the first process that needs it.
-- Not read model: a rebuild never touches it.
CREATE TABLE IF NOT EXISTS instance_secrets (
    name  text COLLATE "C" NOT NULL PRIMARY KEY,
    value bytea            NOT NULL
);

-- Records of every gateway: one row per (gateway, seq), whatever its lane. Duplicates vanish on the key.
CREATE TABLE records (
    gateway      text        NOT NULL,
    seq          bigint      NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('reading', 'event')),
    ts           timestamptz NOT NULL,
    device       text,
    point        text,
    value        jsonb,
    unit         text,
    quality      text,
    event        text,
    priority     text,
    extra        jsonb,
    lane         text        NOT NULL,
    sent_at      timestamptz,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (gateway, seq)
);
CREATE INDEX records_device_ts ON records (gateway, device, point, ts);

-- One row per gateway: what it said in its status and how far its sequence is known to be complete.
CREATE TABLE gateways (
    gateway            text PRIMARY KEY,
    first_seen         timestamptz NOT NULL DEFAULT now(),
    last_seen          timestamptz NOT NULL DEFAULT now(),
    max_seq            bigint      NOT NULL DEFAULT 0,
    contiguous_upto    bigint      NOT NULL DEFAULT 0,
    online             boolean,
    status             jsonb,
    status_at          timestamptz,
    reported_last_seq  bigint,
    reported_backlog   bigint
);

-- Sequence holes: open until filled (the row goes) or given up after too many replay requests.
CREATE TABLE gaps (
    gateway       text        NOT NULL REFERENCES gateways (gateway),
    first_seq     bigint      NOT NULL,
    last_seq      bigint      NOT NULL,
    found_at      timestamptz NOT NULL DEFAULT now(),
    requested_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    state         text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'abandoned')),
    PRIMARY KEY (gateway, first_seq, last_seq)
);
